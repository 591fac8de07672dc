#!/usr/bin/env python3
"""Fills translations/imprint_de.ts from translations/de.py (source text -> German).

lupdate finds the strings; this keeps the German in one reviewable file. Run after
`cmake --build --target update_translations` when strings change; the test
`unit.translations` fails while any string has no German."""
import os
import sys
import xml.etree.ElementTree as ET

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from de import DE, PLURAL  # noqa: E402

ts = os.path.join(here, 'imprint_de.ts')
tree = ET.parse(ts)
missing = []
for message in tree.getroot().iter('message'):
    source = message.find('source').text or ''
    translation = message.find('translation')
    numerus = message.get('numerus') == 'yes'
    if numerus and source in PLURAL:
        for f in list(translation):
            translation.remove(f)
        translation.text = None
        for form in PLURAL[source]:
            ET.SubElement(translation, 'numerusform').text = form
        translation.attrib.pop('type', None)
    elif not numerus and source in DE:
        translation.text = DE[source]
        translation.attrib.pop('type', None)
    elif translation.get('type') not in ('vanished', 'obsolete'):
        missing.append(source)
tree.write(ts, encoding='utf-8', xml_declaration=True)

# English: the sources are English; only the %n strings get their two forms (en.py).
from en import english_plural  # noqa: E402
en_ts = os.path.join(here, 'imprint_en.ts')
en_tree = ET.parse(ts)
en_tree.getroot().set('language', 'en_US')
for context in en_tree.getroot().iter('context'):
    for message in list(context.findall('message')):
        if message.get('numerus') != 'yes':
            context.remove(message)
            continue
        translation = message.find('translation')
        for f in list(translation):
            translation.remove(f)
        translation.text = None
        translation.attrib.pop('type', None)
        for form in english_plural(message.find('source').text or ''):
            ET.SubElement(translation, 'numerusform').text = form
en_tree.write(en_ts, encoding='utf-8', xml_declaration=True)

for m in missing:
    print('no German for: %r' % m)
sys.exit(1 if missing else 0)
