"""English plural forms for the window's %n strings (source text -> (one, many)).

The sources are English already; only their plurals need a translation file, or Qt shows
"1 record(s)". translate.py fills translations/imprint_en.ts from this; a %n string with no
entry here gets the rule "(s)" -> "" / "s"."""

EN_PLURAL = {
    '✔ The audit log is intact: %n entries, each following the one before, and every certificate it names as recorded.':
        ('✔ The audit log is intact: %n entry, and every certificate it names as recorded.',
         '✔ The audit log is intact: %n entries, each following the one before, and every certificate it names as recorded.'),
    "✖ The audit log could not be verified: the station's audit key could not be read, so its %n signed checkpoint(s) were not checked.":
        ("✖ The audit log could not be verified: the station's audit key could not be read, so its %n signed checkpoint was not checked.",
         "✖ The audit log could not be verified: the station's audit key could not be read, so its %n signed checkpoints were not checked."),
    ' %n newest entries are not under a checkpoint yet.':
        (' %n newest entry is not under a checkpoint yet.', ' %n newest entries are not under a checkpoint yet.'),
    'not connected; %n record(s) wait for an offline batch (Admin, Export)':
        ('not connected; %n record waits for an offline batch (Admin, Export)',
         'not connected; %n records wait for an offline batch (Admin, Export)'),
    '%n job(s) were interrupted when the station last stopped':
        ('%n job was interrupted when the station last stopped', '%n jobs were interrupted when the station last stopped'),
    '✔ The audit log is intact (%n entries).': ('✔ The audit log is intact (%n entry).', '✔ The audit log is intact (%n entries).'),
}


def english_plural(source):
    if source in EN_PLURAL:
        return EN_PLURAL[source]
    return (source.replace('(s)', ''), source.replace('(s)', 's'))
