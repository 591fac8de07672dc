<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="de">
<context>
    <name>imprint::app::RemoteLine</name>
    <message>
        <source>Connected to the station service.</source>
        <translation>Mit dem Stationsdienst verbunden.</translation>
    </message>
    <message>
        <source>The station service is not reachable: the line goes on there; this window shows it again as soon as it is back.</source>
        <translation>Der Stationsdienst ist nicht erreichbar: die Linie läuft dort weiter; dieses Fenster zeigt sie wieder, sobald er zurück ist.</translation>
    </message>
    <message>
        <source>The station service is not reachable: scan the label again when it is back.</source>
        <translation>Der Stationsdienst ist nicht erreichbar: das Etikett erneut scannen, wenn er zurück ist.</translation>
    </message>
    <message>
        <source>The station service is not reachable.</source>
        <translation>Der Stationsdienst ist nicht erreichbar.</translation>
    </message>
    <message>
        <source>The station service did not answer.</source>
        <translation>Der Stationsdienst hat nicht geantwortet.</translation>
    </message>
</context>
<context>
    <name>imprint::core::Backoffice</name>
    <message>
        <source>no CRL signed yet</source>
        <translation>noch keine Sperrliste signiert</translation>
    </message>
    <message>
        <source>the CRL could not be read</source>
        <translation>die Sperrliste ist nicht lesbar</translation>
    </message>
    <message>
        <source>revoked: listed on the CRL of %1</source>
        <translation>gesperrt: steht auf der Sperrliste vom %1</translation>
    </message>
    <message>
        <source>not listed on the CRL of %1</source>
        <translation>nicht auf der Sperrliste vom %1</translation>
    </message>
    <message>
        <source>No device with serial %1 is recorded.</source>
        <translation>Kein Gerät mit der Seriennummer %1 ist erfasst.</translation>
    </message>
    <message>
        <source>Device %1 is scrapped; its revocation is queued for the upstream.</source>
        <translation>Gerät %1 ist verschrottet; seine Sperrung wartet auf die Übermittlung an die Konzern-CA.</translation>
    </message>
    <message>
        <source> CRL %1 lists its certificates.</source>
        <translation> Sperrliste %1 führt seine Zertifikate.</translation>
    </message>
    <message>
        <source> The CRL was not signed (%1): issue it from the Admin screen.</source>
        <translation> Die Sperrliste wurde nicht signiert (%1): im Admin-Bildschirm ausstellen.</translation>
    </message>
    <message>
        <source>This station cannot be unlocked from the window.</source>
        <translation>Diese Station kann nicht im Fenster entsperrt werden.</translation>
    </message>
    <message>
        <source>No RA key and upstream settings: set them up first (imprintctl ra keygen, upstream configure).</source>
        <translation>Kein RA-Schlüssel und keine Konzern-CA-Einstellungen: zuerst einrichten (imprintctl ra keygen, upstream configure).</translation>
    </message>
    <message>
        <source>This station has no PIN to check.</source>
        <translation>Diese Station hat keine PIN zu prüfen.</translation>
    </message>
    <message>
        <source>No QA passphrase is set yet: the PKI admin sets it on the admin screen.</source>
        <translation>Noch keine QS-Passphrase festgelegt: der PKI-Admin legt sie im Admin-Bildschirm fest.</translation>
    </message>
</context>
<context>
    <name>imprint::ui::AdminScreen</name>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Issue a CRL now</source>
        <translation>Sperrliste jetzt ausstellen</translation>
    </message>
    <message>
        <source>Lock the HSM</source>
        <translation>HSM sperren</translation>
    </message>
    <message>
        <source>Set the QA passphrase…</source>
        <translation>QS-Passphrase festlegen…</translation>
    </message>
    <message>
        <source>QA passphrase</source>
        <translation>QS-Passphrase</translation>
    </message>
    <message>
        <source>The passphrase QA signs in with (at least 8 characters):</source>
        <translation>Die Passphrase, mit der sich die QS anmeldet (mindestens 8 Zeichen):</translation>
    </message>
    <message>
        <source>The same passphrase again:</source>
        <translation>Dieselbe Passphrase noch einmal:</translation>
    </message>
    <message>
        <source>The two passphrases differ; nothing was changed.</source>
        <translation>Die beiden Passphrasen sind verschieden; nichts wurde geändert.</translation>
    </message>
    <message>
        <source>The passphrase is too short (at least 8 characters); nothing was changed.</source>
        <translation>Die Passphrase ist zu kurz (mindestens 8 Zeichen); nichts wurde geändert.</translation>
    </message>
    <message>
        <source>CA and HSM</source>
        <translation>CA und HSM</translation>
    </message>
    <message>
        <source>Lot</source>
        <translation>Los</translation>
    </message>
    <message>
        <source>Profile</source>
        <translation>Profil</translation>
    </message>
    <message>
        <source>Progress</source>
        <translation>Fortschritt</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>Fehlgeschlagen</translation>
    </message>
    <message>
        <source>Note</source>
        <translation>Notiz</translation>
    </message>
    <message>
        <source>New lot…</source>
        <translation>Neues Los…</translation>
    </message>
    <message>
        <source>New lot</source>
        <translation>Neues Los</translation>
    </message>
    <message>
        <source>Lot (work order)</source>
        <translation>Los (Fertigungsauftrag)</translation>
    </message>
    <message>
        <source>Devices expected</source>
        <translation>Erwartete Geräte</translation>
    </message>
    <message>
        <source>Lot %1 created.</source>
        <translation>Los %1 angelegt.</translation>
    </message>
    <message>
        <source>Lots</source>
        <translation>Lose</translation>
    </message>
    <message>
        <source>Sync now</source>
        <translation>Jetzt abgleichen</translation>
    </message>
    <message>
        <source>Export a batch…</source>
        <translation>Stapel exportieren…</translation>
    </message>
    <message>
        <source>Import an answer…</source>
        <translation>Antwort importieren…</translation>
    </message>
    <message>
        <source>A sync round was asked for; the health strip shows how it went.</source>
        <translation>Ein Abgleich wurde angestoßen; die Statusleiste zeigt das Ergebnis.</translation>
    </message>
    <message>
        <source>Where to write the batch (e.g. a USB stick)</source>
        <translation>Wohin der Stapel geschrieben wird (z. B. ein USB-Stick)</translation>
    </message>
    <message>
        <source>The upstream's answer</source>
        <translation>Die Antwort der Konzern-CA</translation>
    </message>
    <message>
        <source>Certificates (*.p7b *.p7c *.pem *.crt)</source>
        <translation>Zertifikate (*.p7b *.p7c *.pem *.crt)</translation>
    </message>
    <message>
        <source>Upstream</source>
        <translation>Konzern-CA</translation>
    </message>
    <message>
        <source>Verify the audit log</source>
        <translation>Prüfprotokoll prüfen</translation>
    </message>
    <message>
        <source>First page</source>
        <translation>Erste Seite</translation>
    </message>
    <message>
        <source>Next page</source>
        <translation>Nächste Seite</translation>
    </message>
    <message>
        <source>#</source>
        <translation>Nr.</translation>
    </message>
    <message>
        <source>When</source>
        <translation>Wann</translation>
    </message>
    <message>
        <source>Station</source>
        <translation>Station</translation>
    </message>
    <message>
        <source>Who</source>
        <translation>Wer</translation>
    </message>
    <message>
        <source>What</source>
        <translation>Was</translation>
    </message>
    <message>
        <source>Detail</source>
        <translation>Einzelheiten</translation>
    </message>
    <message>
        <source>Audit log</source>
        <translation>Prüfprotokoll</translation>
    </message>
    <message>
        <source>The CA key, as the token reports it</source>
        <translation>Der CA-Schlüssel, wie das Token ihn meldet</translation>
    </message>
    <message>
        <source>Chain</source>
        <translation>Kette</translation>
    </message>
    <message>
        <source>issued by</source>
        <translation>ausgestellt von</translation>
    </message>
    <message>
        <source>valid</source>
        <translation>gültig</translation>
    </message>
    <message>
        <source>%1 of %2 passed</source>
        <translation>%1 von %2 bestanden</translation>
    </message>
    <message>
        <source>No upstream is set up ([upstream] url): records leave the station in offline batches.</source>
        <translation>Keine Konzern-CA eingerichtet ([upstream] url): Datensätze verlassen die Station in Offline-Stapeln.</translation>
    </message>
    <message>
        <source>Upstream: %1</source>
        <translation>Konzern-CA: %1</translation>
    </message>
    <message>
        <source>Last attempt: %1; last reached: %2</source>
        <translation>Letzter Versuch: %1; zuletzt erreicht: %2</translation>
    </message>
    <message>
        <source>Last error: %1</source>
        <translation>Letzter Fehler: %1</translation>
    </message>
    <message numerus="yes">
        <source>%n record(s) not yet confirmed by the upstream</source>
        <translation><numerusform>%n Datensatz noch nicht von der Konzern-CA bestätigt</numerusform><numerusform>%n Datensätze noch nicht von der Konzern-CA bestätigt</numerusform></translation>
    </message>
    <message>
        <source>Oldest unsynced record from %1</source>
        <translation>Ältester nicht abgeglichener Datensatz vom %1</translation>
    </message>
    <message numerus="yes">
        <source>%n refused by the upstream: see imprintctl outbox --state rejected</source>
        <translation><numerusform>%n von der Konzern-CA abgelehnt: siehe imprintctl outbox --state rejected</numerusform><numerusform>%n von der Konzern-CA abgelehnt: siehe imprintctl outbox --state rejected</numerusform></translation>
    </message>
    <message>
        <source>Checking the audit log…</source>
        <translation>Prüfprotokoll wird geprüft…</translation>
    </message>
    <message>
        <source>%1 of %2 entries checked</source>
        <translation>%1 von %2 Einträgen geprüft</translation>
    </message>
    <message>
        <source>The check was stopped; nothing was found wrong in the part checked.</source>
        <translation>Die Prüfung wurde abgebrochen; im geprüften Teil war nichts falsch.</translation>
    </message>
    <message>
        <source>✖ The audit log could not be checked: %1</source>
        <translation>✖ Das Prüfprotokoll konnte nicht geprüft werden: %1</translation>
    </message>
    <message numerus="yes">
        <source>✔ The audit log is intact: %n entries, each following the one before, and every certificate it names as recorded.</source>
        <translation><numerusform>✔ Das Prüfprotokoll ist unversehrt: %n Eintrag, und jedes Zertifikat, das es nennt, wie erfasst.</numerusform><numerusform>✔ Das Prüfprotokoll ist unversehrt: %n Einträge, jeder folgt dem vorigen, und jedes Zertifikat, das es nennt, wie erfasst.</numerusform></translation>
    </message>
    <message numerus="yes">
        <source> %n signed checkpoint(s) verified.</source>
        <translation><numerusform> %n signierter Kontrollpunkt geprüft.</numerusform><numerusform> %n signierte Kontrollpunkte geprüft.</numerusform></translation>
    </message>
    <message>
        <source>✖ The audit log is damaged at entry %1: %2</source>
        <translation>✖ Das Prüfprotokoll ist bei Eintrag %1 beschädigt: %2</translation>
    </message>
    <message>
        <source>This station cannot sign a CRL from the window.</source>
        <translation>Diese Station kann im Fenster keine Sperrliste signieren.</translation>
    </message>
    <message>
        <source>No upstream trust anchors are set up.</source>
        <translation>Keine Vertrauensanker der Konzern-CA eingerichtet.</translation>
    </message>
    <message>
        <source>The QA passphrase is set (kept as a salted scrypt hash only).</source>
        <translation>Die QS-Passphrase ist festgelegt (nur als gesalzener scrypt-Hash gespeichert).</translation>
    </message>
    <message>
        <source>Close the selected lot…</source>
        <translation>Gewähltes Los schließen…</translation>
    </message>
    <message>
        <source>Select a lot first.</source>
        <translation>Erst ein Los wählen.</translation>
    </message>
    <message>
        <source>Close lot %1</source>
        <translation>Los %1 schließen</translation>
    </message>
    <message>
        <source>Close lot %1? The station then takes no more devices for it; its records stay.</source>
        <translation>Los %1 schließen? Die Station nimmt dann keine Geräte mehr dafür an; seine Datensätze bleiben.</translation>
    </message>
    <message>
        <source>Profiles</source>
        <translation>Profile</translation>
    </message>
    <message>
        <source>built in</source>
        <translation>eingebaut</translation>
    </message>
    <message>
        <source>%1 of %2 passed (closed)</source>
        <translation>%1 von %2 bestanden (geschlossen)</translation>
    </message>
    <message>
        <source>Lot %1 is closed: the station takes no more devices for it.</source>
        <translation>Los %1 ist geschlossen: die Station nimmt keine Geräte mehr dafür an.</translation>
    </message>
    <message>
        <source>The admin role ended while the dialog was open: nothing was done.</source>
        <translation>Die Admin-Rolle endete, während der Dialog offen war: nichts wurde getan.</translation>
    </message>
    <message>
        <source>%1 of %2 records written</source>
        <translation>%1 von %2 Datensätzen geschrieben</translation>
    </message>
    <message numerus="yes">
        <source>✖ The audit log could not be verified: the station's audit key could not be read, so its %n signed checkpoint(s) were not checked.</source>
        <translation><numerusform>✖ Das Prüfprotokoll konnte nicht geprüft werden: der Prüfschlüssel der Station war nicht lesbar, also wurde sein %n signierter Kontrollpunkt nicht geprüft.</numerusform><numerusform>✖ Das Prüfprotokoll konnte nicht geprüft werden: der Prüfschlüssel der Station war nicht lesbar, also wurden seine %n signierten Kontrollpunkte nicht geprüft.</numerusform></translation>
    </message>
    <message numerus="yes">
        <source> %n newest entries are not under a checkpoint yet.</source>
        <translation><numerusform> %n neuester Eintrag steht noch unter keinem Kontrollpunkt.</numerusform><numerusform> %n neueste Einträge stehen noch unter keinem Kontrollpunkt.</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>CRL %1 signed: %n certificate(s) listed, next update %2.</source>
        <translation><numerusform>Sperrliste %1 signiert: %n Zertifikat gelistet, nächste Aktualisierung %2.</numerusform><numerusform>Sperrliste %1 signiert: %n Zertifikate gelistet, nächste Aktualisierung %2.</numerusform></translation>
    </message>
    <message>
        <source>Batch %1 written to %2: %3, %4.</source>
        <translation>Stapel %1 nach %2 geschrieben: %3, %4.</translation>
    </message>
    <message numerus="yes">
        <source>%n certificate request(s)</source>
        <translation><numerusform>%n Zertifikatsanforderung</numerusform><numerusform>%n Zertifikatsanforderungen</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>%n revocation(s)</source>
        <translation><numerusform>%n Sperrung</numerusform><numerusform>%n Sperrungen</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>%n certificate(s) recorded</source>
        <translation><numerusform>%n Zertifikat erfasst</numerusform><numerusform>%n Zertifikate erfasst</numerusform></translation>
    </message>
    <message>
        <source>yes</source>
        <translation>ja</translation>
    </message>
    <message>
        <source>no</source>
        <translation>nein</translation>
    </message>
    <message>
        <source>Algorithm</source>
        <translation>Algorithmus</translation>
    </message>
    <message>
        <source>%1, %2 already on record, %3, %4 refused.%5</source>
        <translation>%1, %2 schon erfasst, %3, %4 abgelehnt.%5</translation>
    </message>
    <message numerus="yes">
        <source>%n revocation(s) ended</source>
        <translation><numerusform>%n Sperrung abgeschlossen</numerusform><numerusform>%n Sperrungen abgeschlossen</numerusform></translation>
    </message>
    <message>
        <source>Detail: %1</source>
        <translation>Einzelheit: %1</translation>
    </message>
</context>
<context>
    <name>imprint::ui::DeviceListModel</name>
    <message>
        <source>Serial</source>
        <translation>Seriennummer</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>Lot</source>
        <translation>Los</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Modell</translation>
    </message>
    <message>
        <source>Firmware</source>
        <translation>Firmware</translation>
    </message>
    <message>
        <source>Updated</source>
        <translation>Aktualisiert</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>Grund</translation>
    </message>
    <message>
        <source>(no device identified)</source>
        <translation>(kein Gerät erkannt)</translation>
    </message>
</context>
<context>
    <name>imprint::ui::FailureWords</name>
    <message>
        <source>no answer</source>
        <translation>keine Antwort</translation>
    </message>
    <message>
        <source>The device did not answer.</source>
        <translation>Das Gerät hat nicht geantwortet.</translation>
    </message>
    <message>
        <source>damaged answers</source>
        <translation>beschädigte Antworten</translation>
    </message>
    <message>
        <source>Its answers came damaged: check the cable and the port.</source>
        <translation>Seine Antworten kamen beschädigt an: Kabel und Anschluss prüfen.</translation>
    </message>
    <message>
        <source>went away</source>
        <translation>getrennt</translation>
    </message>
    <message>
        <source>The device went away and did not come back in time.</source>
        <translation>Das Gerät wurde getrennt und kam nicht rechtzeitig zurück.</translation>
    </message>
    <message>
        <source>other device</source>
        <translation>anderes Gerät</translation>
    </message>
    <message>
        <source>Another device came back.</source>
        <translation>Ein anderes Gerät kam zurück.</translation>
    </message>
    <message>
        <source>key reused</source>
        <translation>Schlüssel doppelt</translation>
    </message>
    <message>
        <source>Its key is another device's: its random generator is broken.</source>
        <translation>Sein Schlüssel gehört einem anderen Gerät: sein Zufallsgenerator ist defekt.</translation>
    </message>
    <message>
        <source>read-back wrong</source>
        <translation>Rücklesen falsch</translation>
    </message>
    <message>
        <source>It did not store its certificate correctly.</source>
        <translation>Es hat sein Zertifikat nicht richtig gespeichert.</translation>
    </message>
    <message>
        <source>no key proof</source>
        <translation>kein Schlüsselnachweis</translation>
    </message>
    <message>
        <source>It could not prove it holds its key.</source>
        <translation>Es konnte nicht nachweisen, dass es seinen Schlüssel besitzt.</translation>
    </message>
    <message>
        <source>locked, no pass</source>
        <translation>gesperrt, ohne Bestanden</translation>
    </message>
    <message>
        <source>Locked, but with no pass on record here: set it aside for QA.</source>
        <translation>Gesperrt, aber hier ohne Bestanden erfasst: für die QS beiseitelegen.</translation>
    </message>
    <message>
        <source>other certificate</source>
        <translation>anderes Zertifikat</translation>
    </message>
    <message>
        <source>It holds another certificate than on record: set it aside for QA.</source>
        <translation>Es trägt ein anderes Zertifikat als erfasst: für die QS beiseitelegen.</translation>
    </message>
    <message>
        <source>scrapped</source>
        <translation>verschrottet</translation>
    </message>
    <message>
        <source>This device was scrapped: set it aside.</source>
        <translation>Dieses Gerät wurde verschrottet: beiseitelegen.</translation>
    </message>
    <message>
        <source>serial in use</source>
        <translation>Seriennummer vergeben</translation>
    </message>
    <message>
        <source>Its serial belongs to a device that passed: check the label.</source>
        <translation>Seine Seriennummer gehört einem Gerät, das bestanden hat: Etikett prüfen.</translation>
    </message>
    <message>
        <source>frames too small</source>
        <translation>Rahmen zu klein</translation>
    </message>
    <message>
        <source>Its firmware cannot take a certificate this large: set it aside for a firmware update.</source>
        <translation>Seine Firmware kann ein so großes Zertifikat nicht aufnehmen: für ein Firmware-Update beiseitelegen.</translation>
    </message>
    <message>
        <source>bad serial</source>
        <translation>ungültige Seriennummer</translation>
    </message>
    <message>
        <source>Its serial breaks the protocol's rules: check its firmware.</source>
        <translation>Seine Seriennummer verletzt die Regeln des Protokolls: Firmware prüfen.</translation>
    </message>
    <message>
        <source>bad model name</source>
        <translation>ungültiger Modellname</translation>
    </message>
    <message>
        <source>Its model name breaks the protocol's rules: check its firmware.</source>
        <translation>Sein Modellname verletzt die Regeln des Protokolls: Firmware prüfen.</translation>
    </message>
    <message>
        <source>bad firmware name</source>
        <translation>ungültige Firmwareversion</translation>
    </message>
    <message>
        <source>Its firmware version breaks the protocol's rules: check its firmware.</source>
        <translation>Seine Firmwareversion verletzt die Regeln des Protokolls: Firmware prüfen.</translation>
    </message>
    <message>
        <source>unsupported</source>
        <translation>nicht unterstützt</translation>
    </message>
    <message>
        <source>Its firmware lacks what this step needs: set it aside for a firmware update.</source>
        <translation>Seiner Firmware fehlt, was dieser Schritt braucht: für ein Firmware-Update beiseitelegen.</translation>
    </message>
    <message>
        <source>no serial</source>
        <translation>keine Seriennummer</translation>
    </message>
    <message>
        <source>It has no serial and no one scans labels.</source>
        <translation>Es hat keine Seriennummer, und niemand scannt Etiketten.</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>angehalten</translation>
    </message>
    <message>
        <source>Stopped by the operator.</source>
        <translation>Vom Bediener angehalten.</translation>
    </message>
    <message>
        <source>HSM gone</source>
        <translation>HSM fehlt</translation>
    </message>
    <message>
        <source>The HSM token is gone: nothing was signed.</source>
        <translation>Das HSM-Token ist weg: nichts wurde signiert.</translation>
    </message>
    <message>
        <source>bad request</source>
        <translation>ungültige Anforderung</translation>
    </message>
    <message>
        <source>Its certificate request is not signed by its key: set it aside.</source>
        <translation>Seine Zertifikatsanforderung ist nicht mit seinem Schlüssel signiert: beiseitelegen.</translation>
    </message>
    <message>
        <source>wrong serial</source>
        <translation>falsche Seriennummer</translation>
    </message>
    <message>
        <source>Its request names another serial than the device: check its firmware.</source>
        <translation>Seine Anforderung nennt eine andere Seriennummer als das Gerät: Firmware prüfen.</translation>
    </message>
    <message>
        <source>no serial in request</source>
        <translation>Anforderung ohne Seriennummer</translation>
    </message>
    <message>
        <source>Its request names no serial: check its firmware.</source>
        <translation>Seine Anforderung nennt keine Seriennummer: Firmware prüfen.</translation>
    </message>
    <message>
        <source>key type refused</source>
        <translation>Schlüsseltyp abgelehnt</translation>
    </message>
    <message>
        <source>Its key type is not allowed by the profile.</source>
        <translation>Sein Schlüsseltyp ist im Profil nicht erlaubt.</translation>
    </message>
    <message>
        <source>It sent something that is not a certificate request.</source>
        <translation>Es hat etwas gesendet, das keine Zertifikatsanforderung ist.</translation>
    </message>
    <message>
        <source>request too large</source>
        <translation>Anforderung zu groß</translation>
    </message>
    <message>
        <source>Its certificate request is too large.</source>
        <translation>Seine Zertifikatsanforderung ist zu groß.</translation>
    </message>
    <message>
        <source>Its certificate request has bytes after its end.</source>
        <translation>Seine Zertifikatsanforderung hat Bytes nach ihrem Ende.</translation>
    </message>
    <message>
        <source>wrong key</source>
        <translation>falscher Schlüssel</translation>
    </message>
    <message>
        <source>It asked for a certificate for another key than it was given.</source>
        <translation>Es hat ein Zertifikat für einen anderen Schlüssel angefordert als den erhaltenen.</translation>
    </message>
    <message>
        <source>refused</source>
        <translation>abgelehnt</translation>
    </message>
    <message>
        <source>Its secure element declined: press Retry once, then set it aside.</source>
        <translation>Sein Secure Element hat abgelehnt: einmal Wiederholen drücken, dann beiseitelegen.</translation>
    </message>
    <message>
        <source>firmware mismatch</source>
        <translation>Firmware passt nicht</translation>
    </message>
    <message>
        <source>It and the station disagree on a request: set it aside for the firmware engineers.</source>
        <translation>Gerät und Station sind sich über eine Anfrage uneinig: für die Firmware-Entwicklung beiseitelegen.</translation>
    </message>
    <message>
        <source>not ready</source>
        <translation>nicht bereit</translation>
    </message>
    <message>
        <source>It was not ready for this step: if it happens again, reset it.</source>
        <translation>Es war für diesen Schritt nicht bereit: wenn es wieder vorkommt, zurücksetzen.</translation>
    </message>
    <message>
        <source>locked</source>
        <translation>gesperrt</translation>
    </message>
    <message>
        <source>It is locked and takes nothing more: set it aside for QA.</source>
        <translation>Es ist gesperrt und nimmt nichts mehr an: für die QS beiseitelegen.</translation>
    </message>
    <message>
        <source>no key</source>
        <translation>kein Schlüssel</translation>
    </message>
    <message>
        <source>It holds no key (reset mid-job?).</source>
        <translation>Es hat keinen Schlüssel (mitten im Auftrag zurückgesetzt?).</translation>
    </message>
    <message>
        <source>no certificate</source>
        <translation>kein Zertifikat</translation>
    </message>
    <message>
        <source>It holds no certificate.</source>
        <translation>Es hat kein Zertifikat.</translation>
    </message>
    <message>
        <source>sealed key failed</source>
        <translation>versiegelter Schlüssel fehlgeschlagen</translation>
    </message>
    <message>
        <source>The sealed key did not open on it: its secure element may be faulty.</source>
        <translation>Der versiegelte Schlüssel ließ sich darauf nicht öffnen: sein Secure Element ist womöglich defekt.</translation>
    </message>
    <message>
        <source>device fault</source>
        <translation>Gerätefehler</translation>
    </message>
    <message>
        <source>It failed inside: power-cycle it.</source>
        <translation>Es hat intern versagt: aus- und wieder einschalten.</translation>
    </message>
    <message>
        <source>lot closed</source>
        <translation>Los geschlossen</translation>
    </message>
    <message>
        <source>The lot is closed: start with a new lot.</source>
        <translation>Das Los ist geschlossen: mit einem neuen Los beginnen.</translation>
    </message>
    <message>
        <source>no port</source>
        <translation>kein Anschluss</translation>
    </message>
    <message>
        <source>There is no such port: check the name and the cable.</source>
        <translation>Diesen Anschluss gibt es nicht: Namen und Kabel prüfen.</translation>
    </message>
    <message>
        <source>port not allowed</source>
        <translation>Anschluss nicht erlaubt</translation>
    </message>
    <message>
        <source>The station may not open this port: ask IT for the port's group.</source>
        <translation>Die Station darf diesen Anschluss nicht öffnen: die IT nach der Gruppe des Anschlusses fragen.</translation>
    </message>
    <message>
        <source>port in use</source>
        <translation>Anschluss belegt</translation>
    </message>
    <message>
        <source>Another program holds this port.</source>
        <translation>Ein anderes Programm belegt diesen Anschluss.</translation>
    </message>
    <message>
        <source>port failed</source>
        <translation>Anschlussfehler</translation>
    </message>
    <message>
        <source>The port could not be opened.</source>
        <translation>Der Anschluss ließ sich nicht öffnen.</translation>
    </message>
    <message>
        <source>protocol error</source>
        <translation>Protokollfehler</translation>
    </message>
    <message>
        <source>It broke the protocol: check its firmware.</source>
        <translation>Es hat das Protokoll verletzt: Firmware prüfen.</translation>
    </message>
    <message>
        <source>The port failed.</source>
        <translation>Der Anschluss hat versagt.</translation>
    </message>
    <message>
        <source>HSM failed</source>
        <translation>HSM-Fehler</translation>
    </message>
    <message>
        <source>The HSM failed: nothing was signed.</source>
        <translation>Das HSM hat versagt: nichts wurde signiert.</translation>
    </message>
    <message>
        <source>records failed</source>
        <translation>Aufzeichnung fehlgeschlagen</translation>
    </message>
    <message>
        <source>The records could not be written: call the PKI admin.</source>
        <translation>Die Aufzeichnungen konnten nicht geschrieben werden: den PKI-Administrator rufen.</translation>
    </message>
    <message>
        <source>crypto failed</source>
        <translation>Kryptofehler</translation>
    </message>
    <message>
        <source>A cryptographic step failed.</source>
        <translation>Ein kryptografischer Schritt ist fehlgeschlagen.</translation>
    </message>
    <message>
        <source>not verified</source>
        <translation>nicht geprüft</translation>
    </message>
    <message>
        <source>Its certificate could not be verified.</source>
        <translation>Sein Zertifikat konnte nicht geprüft werden.</translation>
    </message>
    <message>
        <source>Stopped.</source>
        <translation>Angehalten.</translation>
    </message>
    <message>
        <source>request refused</source>
        <translation>Anforderung abgelehnt</translation>
    </message>
    <message>
        <source>Its certificate request was refused.</source>
        <translation>Seine Zertifikatsanforderung wurde abgelehnt.</translation>
    </message>
    <message>
        <source>The device refused.</source>
        <translation>Das Gerät hat abgelehnt.</translation>
    </message>
    <message>
        <source>It failed (%1): the details are in the tooltip.</source>
        <translation>Fehlgeschlagen (%1): die Einzelheiten stehen im Tooltip.</translation>
    </message>
</context>
<context>
    <name>imprint::ui::HealthStrip</name>
    <message numerus="yes">
        <source>%n second(s) ago</source>
        <translation><numerusform>vor %n Sekunde</numerusform><numerusform>vor %n Sekunden</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>%n minute(s) ago</source>
        <translation><numerusform>vor %n Minute</numerusform><numerusform>vor %n Minuten</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>%n hour(s) ago</source>
        <translation><numerusform>vor %n Stunde</numerusform><numerusform>vor %n Stunden</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>%n day(s) ago</source>
        <translation><numerusform>vor %n Tag</numerusform><numerusform>vor %n Tagen</numerusform></translation>
    </message>
    <message>
        <source>HSM</source>
        <translation>HSM</translation>
    </message>
    <message>
        <source>The HSM token is not there: plug it in; nothing can be signed.</source>
        <translation>Das HSM-Token fehlt: einstecken; nichts kann signiert werden.</translation>
    </message>
    <message>
        <source>The HSM token is locked: an admin unlocks it.</source>
        <translation>Das HSM-Token ist gesperrt: ein Admin entsperrt es.</translation>
    </message>
    <message>
        <source>token unlocked</source>
        <translation>Token entsperrt</translation>
    </message>
    <message>
        <source>CA valid until %1</source>
        <translation>CA gültig bis %1</translation>
    </message>
    <message>
        <source>the CA certificate has expired: the PKI admin renews it</source>
        <translation>das CA-Zertifikat ist abgelaufen: der PKI-Admin erneuert es</translation>
    </message>
    <message>
        <source>the CA certificate ends within a month: the PKI admin renews it</source>
        <translation>das CA-Zertifikat läuft binnen eines Monats ab: der PKI-Admin erneuert es</translation>
    </message>
    <message>
        <source>no CRL signed yet</source>
        <translation>noch keine Sperrliste signiert</translation>
    </message>
    <message>
        <source>CRL next update %1</source>
        <translation>Sperrliste nächste Aktualisierung %1</translation>
    </message>
    <message>
        <source>the CRL is out of date: issue one (Admin, Issue CRL)</source>
        <translation>die Sperrliste ist veraltet: neue ausstellen (Admin, Sperrliste ausstellen)</translation>
    </message>
    <message>
        <source>the CRL runs out within a day: issue one (Admin, Issue CRL)</source>
        <translation>die Sperrliste läuft binnen eines Tages ab: neue ausstellen (Admin, Sperrliste ausstellen)</translation>
    </message>
    <message>
        <source>Upstream</source>
        <translation>Konzern-CA</translation>
    </message>
    <message numerus="yes">
        <source>not connected; %n record(s) wait for an offline batch (Admin, Export)</source>
        <translation><numerusform>nicht verbunden; %n Datensatz wartet auf einen Offline-Stapel (Admin, Export)</numerusform><numerusform>nicht verbunden; %n Datensätze warten auf einen Offline-Stapel (Admin, Export)</numerusform></translation>
    </message>
    <message>
        <source>not connected (offline batches)</source>
        <translation>nicht verbunden (Offline-Stapel)</translation>
    </message>
    <message>
        <source>reached %1</source>
        <translation>erreicht %1</translation>
    </message>
    <message>
        <source>not reached since %1</source>
        <translation>nicht erreicht seit %1</translation>
    </message>
    <message>
        <source>not tried yet</source>
        <translation>noch nicht versucht</translation>
    </message>
    <message numerus="yes">
        <source>%n record(s) waiting</source>
        <translation><numerusform>%n Datensatz wartet</numerusform><numerusform>%n Datensätze warten</numerusform></translation>
    </message>
    <message>
        <source>oldest from %1</source>
        <translation>ältester von %1</translation>
    </message>
    <message numerus="yes">
        <source>%n refused by the upstream (Admin, Upstream)</source>
        <translation><numerusform>%n von der Konzern-CA abgelehnt (Admin, Konzern-CA)</numerusform><numerusform>%n von der Konzern-CA abgelehnt (Admin, Konzern-CA)</numerusform></translation>
    </message>
    <message>
        <source>Disk</source>
        <translation>Festplatte</translation>
    </message>
    <message>
        <source>the free space of the data directory is unknown</source>
        <translation>der freie Platz des Datenverzeichnisses ist unbekannt</translation>
    </message>
    <message>
        <source>: the data directory is nearly full; records may stop; plant IT frees space</source>
        <translation>: das Datenverzeichnis ist fast voll; Aufzeichnungen können stoppen; die Werks-IT schafft Platz</translation>
    </message>
    <message>
        <source>: space is running low; tell plant IT</source>
        <translation>: der Platz wird knapp; Werks-IT informieren</translation>
    </message>
    <message>
        <source>Interrupted jobs</source>
        <translation>Unterbrochene Aufträge</translation>
    </message>
    <message>
        <source>none</source>
        <translation>keine</translation>
    </message>
    <message numerus="yes">
        <source>%n job(s) the station was stopped under: put those devices back on a slot</source>
        <translation><numerusform>%n Auftrag, unter dem die Station stoppte: das Gerät wieder auf einen Platz setzen</numerusform><numerusform>%n Aufträge, unter denen die Station stoppte: die Geräte wieder auf einen Platz setzen</numerusform></translation>
    </message>
    <message>
        <source>Records</source>
        <translation>Datensätze</translation>
    </message>
    <message>
        <source>OK</source>
        <translation>OK</translation>
    </message>
    <message>
        <source>ATTENTION</source>
        <translation>ACHTUNG</translation>
    </message>
    <message>
        <source>ALARM</source>
        <translation>ALARM</translation>
    </message>
    <message>
        <source>OFF</source>
        <translation>AUS</translation>
    </message>
    <message>
        <source>%1 free (%2)</source>
        <translation>%1 frei (%2)</translation>
    </message>
    <message>
        <source>Plant record</source>
        <translation>Werksregister</translation>
    </message>
    <message>
        <source>pushed %1</source>
        <translation>übertragen %1</translation>
    </message>
    <message numerus="yes">
        <source>%n change(s) waiting</source>
        <translation><numerusform>%n Änderung wartet</numerusform><numerusform>%n Änderungen warten</numerusform></translation>
    </message>
</context>
<context>
    <name>imprint::ui::LineScreen</name>
    <message>
        <source>No slots on this line yet.

Start the window with --port PATH for each fixture position (a serial port, e.g. /dev/ttyUSB0), or --usb VVVV:PPPP to give every device with these USB ids a slot as it is plugged in. With the station service, the ports given to imprintctl provision appear here.</source>
        <translation>Diese Linie hat noch keine Plätze.

Das Fenster mit --port PFAD für jede Position der Vorrichtung starten (eine serielle Schnittstelle, z. B. /dev/ttyUSB0), oder mit --usb VVVV:PPPP, damit jedes Gerät mit diesen USB-Kennungen beim Einstecken einen Platz bekommt. Mit dem Stationsdienst erscheinen hier die Anschlüsse, die imprintctl provision übergeben werden.</translation>
    </message>
</context>
<context>
    <name>imprint::ui::MainWindow</name>
    <message>
        <source>operator</source>
        <translation>Bediener</translation>
    </message>
    <message>
        <source>QA</source>
        <translation>QS</translation>
    </message>
    <message>
        <source>PKI admin</source>
        <translation>PKI-Admin</translation>
    </message>
    <message>
        <source>Imprint — provisioning station</source>
        <translation>Imprint — Provisionierungsstation</translation>
    </message>
    <message>
        <source>Screens</source>
        <translation>Bildschirme</translation>
    </message>
    <message>
        <source>Line</source>
        <translation>Linie</translation>
    </message>
    <message>
        <source>Admin</source>
        <translation>Admin</translation>
    </message>
    <message>
        <source>Retry slot (F5)</source>
        <translation>Platz wiederholen (F5)</translation>
    </message>
    <message>
        <source>Abort slot (F8)</source>
        <translation>Platz abbrechen (F8)</translation>
    </message>
    <message>
        <source>Scan a serial label</source>
        <translation>Seriennummer-Etikett scannen</translation>
    </message>
    <message>
        <source> Serial label: </source>
        <translation> Etikett: </translation>
    </message>
    <message>
        <source>Change operator…</source>
        <translation>Bediener wechseln…</translation>
    </message>
    <message>
        <source>Sign out</source>
        <translation>Abmelden</translation>
    </message>
    <message>
        <source>signed out</source>
        <translation>abgemeldet</translation>
    </message>
    <message>
        <source>The HSM is locked: nothing is signed until an admin unlocks it.</source>
        <translation>Das HSM ist gesperrt: nichts wird signiert, bis ein Admin es entsperrt.</translation>
    </message>
    <message>
        <source>locked the HSM</source>
        <translation>hat das HSM gesperrt</translation>
    </message>
    <message>
        <source>and %1 more</source>
        <translation>und %1 weitere</translation>
    </message>
    <message numerus="yes">
        <source>%n job(s) were interrupted when the station last stopped</source>
        <translation><numerusform>%n Auftrag wurde beim letzten Stopp der Station unterbrochen</numerusform><numerusform>%n Aufträge wurden beim letzten Stopp der Station unterbrochen</numerusform></translation>
    </message>
    <message>
        <source>%1: %2. Put these devices back on a slot: each one continues where it was (imprintctl jobs lists them).</source>
        <translation>%1: %2. Diese Geräte wieder auf einen Platz setzen: jedes macht dort weiter, wo es war (imprintctl jobs listet sie).</translation>
    </message>
    <message>
        <source>Issuing CA: %1</source>
        <translation>Ausstellende CA: %1</translation>
    </message>
    <message>
        <source>Operator: %1</source>
        <translation>Bediener: %1</translation>
    </message>
    <message numerus="yes">
        <source>idle for %n minute(s)</source>
        <translation><numerusform>%n Minute untätig</numerusform><numerusform>%n Minuten untätig</numerusform></translation>
    </message>
    <message>
        <source>Role: operator</source>
        <translation>Rolle: Bediener</translation>
    </message>
    <message>
        <source>Role: %1 (%2)</source>
        <translation>Rolle: %1 (%2)</translation>
    </message>
    <message>
        <source>The admin screen needs the HSM token's PIN.</source>
        <translation>Der Admin-Bildschirm braucht die PIN des HSM-Tokens.</translation>
    </message>
    <message>
        <source>That is not the token's PIN.</source>
        <translation>Das ist nicht die PIN des Tokens.</translation>
    </message>
    <message>
        <source>That is not the QA passphrase.</source>
        <translation>Das ist nicht die QS-Passphrase.</translation>
    </message>
    <message>
        <source>Sign in as %1</source>
        <translation>Als %1 anmelden</translation>
    </message>
    <message>
        <source>Token PIN</source>
        <translation>Token-PIN</translation>
    </message>
    <message>
        <source>QA passphrase</source>
        <translation>QS-Passphrase</translation>
    </message>
    <message>
        <source>signed in as %1</source>
        <translation>angemeldet als %1</translation>
    </message>
    <message>
        <source>%1 signed in as %2.</source>
        <translation>%1 ist als %2 angemeldet.</translation>
    </message>
    <message>
        <source>%1 role ended: %2</source>
        <translation>Rolle %1 beendet: %2</translation>
    </message>
    <message>
        <source>The %1 role of %2 ended: %3.</source>
        <translation>Die Rolle %1 von %2 ist beendet: %3.</translation>
    </message>
    <message>
        <source>%1: confirm with your %2.</source>
        <translation>%1: mit Ihrer %2 bestätigen.</translation>
    </message>
    <message>
        <source>token PIN</source>
        <translation>Token-PIN</translation>
    </message>
    <message>
        <source>%1 was scanned, but no slot is waiting for a label. QA can look it up on the QA screen.</source>
        <translation>%1 wurde gescannt, aber kein Platz wartet auf ein Etikett. Die QS kann es im QS-Bildschirm nachschlagen.</translation>
    </message>
    <message>
        <source>No device is waiting for a serial label.</source>
        <translation>Kein Gerät wartet auf ein Seriennummer-Etikett.</translation>
    </message>
    <message>
        <source>Serial %1 given to slot %2.</source>
        <translation>Seriennummer %1 an Platz %2 vergeben.</translation>
    </message>
    <message>
        <source>Click a slot first, then Retry.</source>
        <translation>Erst einen Platz anklicken, dann Wiederholen.</translation>
    </message>
    <message>
        <source>Click a slot first, then Abort.</source>
        <translation>Erst einen Platz anklicken, dann Abbrechen.</translation>
    </message>
    <message>
        <source>Change operator</source>
        <translation>Bediener wechseln</translation>
    </message>
    <message>
        <source>The operator taking over (scan your badge or type your name):</source>
        <translation>Der übernehmende Bediener (Ausweis scannen oder Namen eingeben):</translation>
    </message>
    <message>
        <source>The QA screen needs the QA passphrase (an admin signed in may open it too).</source>
        <translation>Der QS-Bildschirm braucht die QS-Passphrase (ein angemeldeter Admin darf ihn auch öffnen).</translation>
    </message>
    <message>
        <source>%1 sign-in is paused until %2 after %3 wrong attempts in a row; nothing was checked. Wait, or ask another %1.</source>
        <translation>Die Anmeldung als %1 ist nach %3 falschen Versuchen in Folge bis %2 gesperrt; nichts wurde geprüft. Warten, oder eine andere Person mit der Rolle %1 fragen.</translation>
    </message>
    <message>
        <source>%1 wrong in a row: %2 sign-in is paused until %3.</source>
        <translation>%1 falsch in Folge: die Anmeldung als %2 ist bis %3 gesperrt.</translation>
    </message>
    <message>
        <source>The HSM is locked. Signing in unlocks it: the PIN goes to the token itself, and a wrong one costs one of its tries. %1</source>
        <translation>Das HSM ist gesperrt. Die Anmeldung entsperrt es: die PIN geht an das Token selbst, und eine falsche kostet einen seiner Versuche. %1</translation>
    </message>
    <message>
        <source>The token reports no wrong PINs so far.</source>
        <translation>Das Token meldet bisher keine falschen PINs.</translation>
    </message>
    <message>
        <source>The token reports: %1</source>
        <translation>Das Token meldet: %1</translation>
    </message>
    <message>
        <source>Unlock the HSM</source>
        <translation>HSM entsperren</translation>
    </message>
    <message>
        <source>unlocked the HSM and signed in as %1</source>
        <translation>hat das HSM entsperrt und sich als %1 angemeldet</translation>
    </message>
</context>
<context>
    <name>imprint::ui::PinDialog</name>
    <message>
        <source>Unlock the HSM</source>
        <translation>HSM entsperren</translation>
    </message>
    <message>
        <source>Unlock</source>
        <translation>Entsperren</translation>
    </message>
    <message>
        <source>The issuing CA key is in token "%1". Enter its user PIN to start the line.</source>
        <translation>Der Schlüssel der ausstellenden CA liegt im Token „%1“. Dessen Benutzer-PIN eingeben, um die Linie zu starten.</translation>
    </message>
    <message>
        <source>No PIN was given; the station stays locked.</source>
        <translation>Keine PIN eingegeben; die Station bleibt gesperrt.</translation>
    </message>
</context>
<context>
    <name>imprint::ui::PlantFigures</name>
    <message>
        <source>Station</source>
        <translation>Station</translation>
    </message>
    <message>
        <source>Line</source>
        <translation>Linie</translation>
    </message>
    <message>
        <source>Lot</source>
        <translation>Los</translation>
    </message>
    <message>
        <source>Shift</source>
        <translation>Schicht</translation>
    </message>
    <message>
        <source>Passed</source>
        <translation>Bestanden</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>Fehlgeschlagen</translation>
    </message>
    <message>
        <source>Yield</source>
        <translation>Ausbeute</translation>
    </message>
    <message>
        <source>Reading the plant record…</source>
        <translation>Der Werksdatensatz wird gelesen…</translation>
    </message>
    <message>
        <source>From the plant record, as of %1: every station's jobs of the last 7 days.</source>
        <translation>Aus dem Werksdatensatz, Stand %1: die Aufträge aller Stationen der letzten 7 Tage.</translation>
    </message>
    <message>
        <source>Yield by line (%)</source>
        <translation>Ausbeute je Linie (%)</translation>
    </message>
    <message>
        <source>yield</source>
        <translation>Ausbeute</translation>
    </message>
    <message>
        <source>(no line)</source>
        <translation>(keine Linie)</translation>
    </message>
    <message>
        <source>Passed per hour, last 24 hours</source>
        <translation>Bestanden je Stunde, letzte 24 Stunden</translation>
    </message>
    <message>
        <source>Failures by reason</source>
        <translation>Fehler nach Grund</translation>
    </message>
    <message>
        <source>jobs</source>
        <translation>Aufträge</translation>
    </message>
    <message>
        <source>(no reason)</source>
        <translation>(kein Grund)</translation>
    </message>
</context>
<context>
    <name>imprint::ui::QaScreen</name>
    <message>
        <source>Re-verify</source>
        <translation>Neu prüfen</translation>
    </message>
    <message>
        <source>Scrap…</source>
        <translation>Verschrotten…</translation>
    </message>
    <message>
        <source>Device report (PDF)…</source>
        <translation>Gerätebericht (PDF)…</translation>
    </message>
    <message>
        <source>Scan or type a device serial, then Enter</source>
        <translation>Seriennummer scannen oder eingeben, dann Eingabe</translation>
    </message>
    <message>
        <source>Save the device report</source>
        <translation>Gerätebericht speichern</translation>
    </message>
    <message>
        <source>PDF (*.pdf)</source>
        <translation>PDF (*.pdf)</translation>
    </message>
    <message>
        <source>any status</source>
        <translation>jeder Status</translation>
    </message>
    <message>
        <source>any</source>
        <translation>beliebig</translation>
    </message>
    <message>
        <source>serial begins with</source>
        <translation>Seriennummer beginnt mit</translation>
    </message>
    <message>
        <source>lot</source>
        <translation>Los</translation>
    </message>
    <message>
        <source>from</source>
        <translation>von</translation>
    </message>
    <message>
        <source>to</source>
        <translation>bis</translation>
    </message>
    <message>
        <source>&lt;p&gt;Scan a device's label, type its serial, or pick it in the list.&lt;/p&gt;</source>
        <translation>&lt;p&gt;Das Etikett eines Geräts scannen, seine Seriennummer eingeben oder es in der Liste wählen.&lt;/p&gt;</translation>
    </message>
    <message>
        <source>✔ Every certificate in use verifies to the station's root (strict).</source>
        <translation>✔ Jedes verwendete Zertifikat lässt sich bis zur Wurzel der Station prüfen (strikt).</translation>
    </message>
    <message>
        <source>✖ A certificate in use does not verify: see below.</source>
        <translation>✖ Ein verwendetes Zertifikat lässt sich nicht prüfen: siehe unten.</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>Lot</source>
        <translation>Los</translation>
    </message>
    <message>
        <source>none</source>
        <translation>keine</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Modell</translation>
    </message>
    <message>
        <source>Firmware</source>
        <translation>Firmware</translation>
    </message>
    <message>
        <source>First seen</source>
        <translation>Zuerst gesehen</translation>
    </message>
    <message>
        <source>Updated</source>
        <translation>Aktualisiert</translation>
    </message>
    <message>
        <source>Certificates</source>
        <translation>Zertifikate</translation>
    </message>
    <message>
        <source>None issued.</source>
        <translation>Keine ausgestellt.</translation>
    </message>
    <message>
        <source>SHA-256 %1</source>
        <translation>SHA-256 %1</translation>
    </message>
    <message>
        <source>✔ chain verifies (strict)</source>
        <translation>✔ Kette geprüft (strikt)</translation>
    </message>
    <message>
        <source>✖ chain: %1</source>
        <translation>✖ Kette: %1</translation>
    </message>
    <message>
        <source>CRL: %1</source>
        <translation>Sperrliste: %1</translation>
    </message>
    <message>
        <source>Upstream certificate from %1 (SHA-256 %2)</source>
        <translation>Zertifikat der Konzern-CA von %1 (SHA-256 %2)</translation>
    </message>
    <message>
        <source>Upstream %1: %2%3</source>
        <translation>Konzern-CA %1: %2%3</translation>
    </message>
    <message>
        <source>Timeline</source>
        <translation>Verlauf</translation>
    </message>
    <message>
        <source>When</source>
        <translation>Wann</translation>
    </message>
    <message>
        <source>Job</source>
        <translation>Auftrag</translation>
    </message>
    <message>
        <source>Step</source>
        <translation>Schritt</translation>
    </message>
    <message>
        <source>Station</source>
        <translation>Station</translation>
    </message>
    <message>
        <source>Operator</source>
        <translation>Bediener</translation>
    </message>
    <message>
        <source>Detail</source>
        <translation>Einzelheiten</translation>
    </message>
    <message>
        <source>Audit entries</source>
        <translation>Prüfprotokoll-Einträge</translation>
    </message>
    <message>
        <source>What</source>
        <translation>Was</translation>
    </message>
    <message>
        <source>Who</source>
        <translation>Wer</translation>
    </message>
    <message>
        <source>Device %1 is on slot %2: reading its certificate back and challenging it.</source>
        <translation>Gerät %1 ist auf Platz %2: sein Zertifikat wird zurückgelesen und es wird herausgefordert.</translation>
    </message>
    <message>
        <source>Checking the audit log…</source>
        <translation>Prüfprotokoll wird geprüft…</translation>
    </message>
    <message>
        <source>✖ The audit log could not be checked: %1</source>
        <translation>✖ Das Prüfprotokoll konnte nicht geprüft werden: %1</translation>
    </message>
    <message numerus="yes">
        <source>✔ The audit log is intact (%n entries).</source>
        <translation><numerusform>✔ Das Prüfprotokoll ist unversehrt (%n Eintrag).</numerusform><numerusform>✔ Das Prüfprotokoll ist unversehrt (%n Einträge).</numerusform></translation>
    </message>
    <message>
        <source>✖ The audit log is damaged: %1</source>
        <translation>✖ Das Prüfprotokoll ist beschädigt: %1</translation>
    </message>
    <message>
        <source>Scrap device %1</source>
        <translation>Gerät %1 verschrotten</translation>
    </message>
    <message>
        <source>Scrapping takes the device out of production for good: its certificates are revoked and the revocation goes to the upstream.

Why is it scrapped?</source>
        <translation>Verschrotten nimmt das Gerät endgültig aus der Produktion: seine Zertifikate werden gesperrt und die Sperrung geht an die Konzern-CA.

Warum wird es verschrottet?</translation>
    </message>
    <message>
        <source>Not scrapped: the QA passphrase was not given.</source>
        <translation>Nicht verschrottet: die QS-Passphrase wurde nicht eingegeben.</translation>
    </message>
    <message>
        <source>Device report %1</source>
        <translation>Gerätebericht %1</translation>
    </message>
    <message>
        <source>&lt;p&gt;Imprint device report, printed %1&lt;/p&gt;</source>
        <translation>&lt;p&gt;Imprint-Gerätebericht, gedruckt %1&lt;/p&gt;</translation>
    </message>
    <message>
        <source>Report written to %1.</source>
        <translation>Bericht nach %1 geschrieben.</translation>
    </message>
    <message>
        <source>The report could not be written to %1.</source>
        <translation>Der Bericht konnte nicht nach %1 geschrieben werden.</translation>
    </message>
    <message>
        <source>✔ upstream chain verifies to its anchors (strict)</source>
        <translation>✔ Kette der Konzern-CA bis zu ihren Vertrauensankern geprüft (strikt)</translation>
    </message>
    <message>
        <source>✖ upstream chain: %1</source>
        <translation>✖ Kette der Konzern-CA: %1</translation>
    </message>
    <message>
        <source>⚠ Issued, never shipped: the device failed after it was issued. It is revoked after the grace period, unless the device comes back with the same key and passes.</source>
        <translation>⚠ Ausgestellt, nie ausgeliefert: das Gerät ist nach der Ausstellung gescheitert. Es wird nach der Frist widerrufen, außer das Gerät kommt mit demselben Schlüssel zurück und besteht.</translation>
    </message>
    <message>
        <source>no device identified</source>
        <translation>kein Gerät erkannt</translation>
    </message>
    <message>
        <source>Plant figures…</source>
        <translation>Werkszahlen…</translation>
    </message>
    <message>
        <source>%1 Looking in the plant record…</source>
        <translation>%1 Es wird im Werksdatensatz gesucht…</translation>
    </message>
    <message>
        <source>From the plant record, as of %1: made on station %2 (line %3).</source>
        <translation>Aus dem Werksdatensatz, Stand %1: gefertigt auf Station %2 (Linie %3).</translation>
    </message>
    <message>
        <source>✔ Every certificate verifies here to a root this station trusts (strict).</source>
        <translation>✔ Jedes Zertifikat lässt sich hier zu einer Wurzel prüfen, der diese Station vertraut (streng).</translation>
    </message>
    <message>
        <source>✖ A certificate does not verify here: see below.</source>
        <translation>✖ Ein Zertifikat lässt sich hier nicht prüfen: siehe unten.</translation>
    </message>
    <message>
        <source>Plant figures</source>
        <translation>Werkszahlen</translation>
    </message>
    <message>
        <source>Reading the plant record…</source>
        <translation>Der Werksdatensatz wird gelesen…</translation>
    </message>
    <message>
        <source>Read from the plant record, as of %1. This station did not make this device.</source>
        <translation>Aus dem Werksdatensatz gelesen, Stand %1. Diese Station hat das Gerät nicht gefertigt.</translation>
    </message>
    <message numerus="yes">
        <source>⚠ %n stations hold a record of this serial; each is shown, the one heard from last first.</source>
        <translation><numerusform>⚠ %n Station hält einen Datensatz dieser Seriennummer.</numerusform><numerusform>⚠ %n Stationen halten einen Datensatz dieser Seriennummer; jeder wird gezeigt, der zuletzt gemeldete zuerst.</numerusform></translation>
    </message>
    <message>
        <source>Station %1, line %2</source>
        <translation>Station %1, Linie %2</translation>
    </message>
    <message>
        <source>Last heard from</source>
        <translation>Zuletzt gemeldet</translation>
    </message>
    <message>
        <source>✔ chain verifies here (strict)</source>
        <translation>✔ Kette hier geprüft (streng)</translation>
    </message>
    <message>
        <source>Upstream: not yet</source>
        <translation>Konzern-CA: noch nicht</translation>
    </message>
    <message>
        <source>unfinished</source>
        <translation>nicht beendet</translation>
    </message>
    <message>
        <source>From the plant record, as of %1: ✖ %2 stations hold a record of this serial; which one made the device cannot be told from here. Each is shown below.</source>
        <translation>Aus dem Werksdatensatz, Stand %1: ✖ %2 Stationen halten einen Datensatz dieser Seriennummer; welche das Gerät gefertigt hat, lässt sich von hier nicht sagen. Jeder wird unten gezeigt.</translation>
    </message>
    <message>
        <source>Upstream: certified (verified here)</source>
        <translation>Konzern-CA: zertifiziert (hier geprüft)</translation>
    </message>
    <message>
        <source>✖ Upstream certificate NOT verified: %1</source>
        <translation>✖ Zertifikat der Konzern-CA NICHT geprüft: %1</translation>
    </message>
</context>
<context>
    <name>imprint::ui::ShiftPanel</name>
    <message>
        <source>Shift of %1, %2 – %3</source>
        <translation>Schicht vom %1, %2 – %3</translation>
    </message>
    <message>
        <source>Devices per 15 minutes</source>
        <translation>Geräte je 15 Minuten</translation>
    </message>
    <message>
        <source>Passed</source>
        <translation>Bestanden</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>Fehlgeschlagen</translation>
    </message>
    <message>
        <source>Failures by reason</source>
        <translation>Fehler nach Grund</translation>
    </message>
    <message>
        <source>Failures</source>
        <translation>Fehler</translation>
    </message>
    <message>
        <source>none</source>
        <translation>keine</translation>
    </message>
    <message>
        <source>Passed %L1</source>
        <translation>Bestanden %L1</translation>
    </message>
    <message>
        <source>Failed %L1</source>
        <translation>Fehlgeschlagen %L1</translation>
    </message>
    <message>
        <source>No device identified %L1</source>
        <translation>Kein Gerät erkannt %L1</translation>
    </message>
    <message>
        <source>Done earlier %L1</source>
        <translation>Schon erledigt %L1</translation>
    </message>
    <message>
        <source>First-pass yield %1</source>
        <translation>Erstausbeute %1</translation>
    </message>
    <message numerus="yes">
        <source>%n device(s)/h</source>
        <translation><numerusform>%n Gerät/h</numerusform><numerusform>%n Geräte/h</numerusform></translation>
    </message>
    <message>
        <source>No device identified</source>
        <translation>Kein Gerät erkannt</translation>
    </message>
    <message>
        <source>%1 · %2</source>
        <translation>%1 · %2</translation>
    </message>
    <message>
        <source>other · %1</source>
        <translation>sonstige · %1</translation>
    </message>
</context>
<context>
    <name>imprint::ui::SignInDialog</name>
    <message>
        <source>Sign in</source>
        <translation>Anmelden</translation>
    </message>
    <message>
        <source>Your name</source>
        <translation>Ihr Name</translation>
    </message>
</context>
<context>
    <name>imprint::ui::SlotModel</name>
    <message>
        <source>waiting</source>
        <translation>wartet</translation>
    </message>
    <message>
        <source>connecting</source>
        <translation>verbindet</translation>
    </message>
    <message>
        <source>identifying</source>
        <translation>identifiziert</translation>
    </message>
    <message>
        <source>waiting for its serial label</source>
        <translation>wartet auf sein Seriennummer-Etikett</translation>
    </message>
    <message>
        <source>generating key</source>
        <translation>erzeugt Schlüssel</translation>
    </message>
    <message>
        <source>checking and issuing</source>
        <translation>prüft und stellt aus</translation>
    </message>
    <message>
        <source>installing certificate</source>
        <translation>installiert Zertifikat</translation>
    </message>
    <message>
        <source>verifying</source>
        <translation>prüft</translation>
    </message>
    <message>
        <source>locking</source>
        <translation>sperrt</translation>
    </message>
    <message>
        <source>waiting for the device to come back</source>
        <translation>wartet auf die Rückkehr des Geräts</translation>
    </message>
    <message>
        <source>done, device locked</source>
        <translation>fertig, Gerät gesperrt</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>angehalten</translation>
    </message>
    <message>
        <source>passed earlier, left as it is</source>
        <translation>früher bestanden, unverändert gelassen</translation>
    </message>
    <message>
        <source>PASS</source>
        <translation>BESTANDEN</translation>
    </message>
    <message>
        <source>FAIL</source>
        <translation>FEHLER</translation>
    </message>
    <message>
        <source>DONE EARLIER</source>
        <translation>SCHON ERLEDIGT</translation>
    </message>
    <message>
        <source>Check slot %1: %2 of its last %3 devices failed (a bent pin or a bad cable?).</source>
        <translation>Platz %1 prüfen: %2 seiner letzten %3 Geräte sind fehlgeschlagen (verbogener Stift oder schlechtes Kabel?).</translation>
    </message>
    <message>
        <source>stopped while %1</source>
        <translation>gestoppt bei: %1</translation>
    </message>
    <message>
        <source>%1 — Fix the device or its connection, then press Retry.</source>
        <translation>%1 — Gerät oder Verbindung in Ordnung bringen, dann Wiederholen drücken.</translation>
    </message>
    <message>
        <source>Certificate %1 installed and verified. Remove the device.</source>
        <translation>Zertifikat %1 installiert und geprüft. Gerät entnehmen.</translation>
    </message>
    <message>
        <source>Passed on %1 with certificate %2; nothing was done to it. Remove the device: it is good.</source>
        <translation>Am %1 mit Zertifikat %2 bestanden; nichts wurde daran getan. Gerät entnehmen: es ist gut.</translation>
    </message>
    <message>
        <source>The device has no serial yet: scan the label on it.</source>
        <translation>Das Gerät hat noch keine Seriennummer: sein Etikett scannen.</translation>
    </message>
    <message>
        <source>Slot</source>
        <translation>Platz</translation>
    </message>
    <message>
        <source>Device serial</source>
        <translation>Seriennummer</translation>
    </message>
    <message>
        <source>Step</source>
        <translation>Schritt</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>Ergebnis</translation>
    </message>
    <message>
        <source>What to do</source>
        <translation>Was zu tun ist</translation>
    </message>
    <message>
        <source>%1 Press Retry.</source>
        <translation>%1 Wiederholen drücken.</translation>
    </message>
    <message>
        <source>Remove the device.</source>
        <translation>Gerät entnehmen.</translation>
    </message>
    <message>
        <source>Passed %1. Remove it: it is good.</source>
        <translation>Bestanden %1. Entnehmen: es ist gut.</translation>
    </message>
    <message>
        <source>No serial yet: scan the label on it.</source>
        <translation>Noch keine Seriennummer: Etikett scannen.</translation>
    </message>
</context>
<context>
    <name>imprint::ui::SlotTile</name>
    <message>
        <source>%1 (step %2 of %3)</source>
        <translation>%1 (Schritt %2 von %3)</translation>
    </message>
    <message>
        <source>%1 · %2 in it, %3 left</source>
        <translation>%1 · %2 darin, noch %3</translation>
    </message>
    <message>
        <source>%1 · %2 in it</source>
        <translation>%1 · %2 darin</translation>
    </message>
    <message>
        <source>Step %1 of %2: %3</source>
        <translation>Schritt %1 von %2: %3</translation>
    </message>
</context>
</TS>