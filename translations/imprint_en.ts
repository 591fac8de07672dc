<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="en_US">
<context>
    <name>imprint::app::RemoteLine</name>
    </context>
<context>
    <name>imprint::core::Backoffice</name>
    </context>
<context>
    <name>imprint::ui::AdminScreen</name>
    <message numerus="yes">
        <source>%n record(s) not yet confirmed by the upstream</source>
        <translation><numerusform>%n record not yet confirmed by the upstream</numerusform><numerusform>%n records not yet confirmed by the upstream</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>%n refused by the upstream: see imprintctl outbox --state rejected</source>
        <translation><numerusform>%n refused by the upstream: see imprintctl outbox --state rejected</numerusform><numerusform>%n refused by the upstream: see imprintctl outbox --state rejected</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>✔ The audit log is intact: %n entries, each following the one before, and every certificate it names as recorded.</source>
        <translation><numerusform>✔ The audit log is intact: %n entry, and every certificate it names as recorded.</numerusform><numerusform>✔ The audit log is intact: %n entries, each following the one before, and every certificate it names as recorded.</numerusform></translation>
    </message>
    <message numerus="yes">
        <source> %n signed checkpoint(s) verified.</source>
        <translation><numerusform> %n signed checkpoint verified.</numerusform><numerusform> %n signed checkpoints verified.</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>✖ The audit log could not be verified: the station's audit key could not be read, so its %n signed checkpoint(s) were not checked.</source>
        <translation><numerusform>✖ The audit log could not be verified: the station's audit key could not be read, so its %n signed checkpoint was not checked.</numerusform><numerusform>✖ The audit log could not be verified: the station's audit key could not be read, so its %n signed checkpoints were not checked.</numerusform></translation>
    </message>
    <message numerus="yes">
        <source> %n newest entries are not under a checkpoint yet.</source>
        <translation><numerusform> %n newest entry is not under a checkpoint yet.</numerusform><numerusform> %n newest entries are not under a checkpoint yet.</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>CRL %1 signed: %n certificate(s) listed, next update %2.</source>
        <translation><numerusform>CRL %1 signed: %n certificate listed, next update %2.</numerusform><numerusform>CRL %1 signed: %n certificates listed, next update %2.</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>%n certificate request(s)</source>
        <translation><numerusform>%n certificate request</numerusform><numerusform>%n certificate requests</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>%n revocation(s)</source>
        <translation><numerusform>%n revocation</numerusform><numerusform>%n revocations</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>%n certificate(s) recorded</source>
        <translation><numerusform>%n certificate recorded</numerusform><numerusform>%n certificates recorded</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>%n revocation(s) ended</source>
        <translation><numerusform>%n revocation ended</numerusform><numerusform>%n revocations ended</numerusform></translation>
    </message>
    </context>
<context>
    <name>imprint::ui::DeviceListModel</name>
    </context>
<context>
    <name>imprint::ui::FailureWords</name>
    </context>
<context>
    <name>imprint::ui::HealthStrip</name>
    <message numerus="yes">
        <source>%n second(s) ago</source>
        <translation><numerusform>%n second ago</numerusform><numerusform>%n seconds ago</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>%n minute(s) ago</source>
        <translation><numerusform>%n minute ago</numerusform><numerusform>%n minutes ago</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>%n hour(s) ago</source>
        <translation><numerusform>%n hour ago</numerusform><numerusform>%n hours ago</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>%n day(s) ago</source>
        <translation><numerusform>%n day ago</numerusform><numerusform>%n days ago</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>not connected; %n record(s) wait for an offline batch (Admin, Export)</source>
        <translation><numerusform>not connected; %n record waits for an offline batch (Admin, Export)</numerusform><numerusform>not connected; %n records wait for an offline batch (Admin, Export)</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>%n record(s) waiting</source>
        <translation><numerusform>%n record waiting</numerusform><numerusform>%n records waiting</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>%n refused by the upstream (Admin, Upstream)</source>
        <translation><numerusform>%n refused by the upstream (Admin, Upstream)</numerusform><numerusform>%n refused by the upstream (Admin, Upstream)</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>%n job(s) the station was stopped under: put those devices back on a slot</source>
        <translation><numerusform>%n job the station was stopped under: put those devices back on a slot</numerusform><numerusform>%n jobs the station was stopped under: put those devices back on a slot</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>%n change(s) waiting</source>
        <translation><numerusform>%n change waiting</numerusform><numerusform>%n changes waiting</numerusform></translation>
    </message>
</context>
<context>
    <name>imprint::ui::LineScreen</name>
    </context>
<context>
    <name>imprint::ui::MainWindow</name>
    <message numerus="yes">
        <source>%n job(s) were interrupted when the station last stopped</source>
        <translation><numerusform>%n job was interrupted when the station last stopped</numerusform><numerusform>%n jobs were interrupted when the station last stopped</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>idle for %n minute(s)</source>
        <translation><numerusform>idle for %n minute</numerusform><numerusform>idle for %n minutes</numerusform></translation>
    </message>
    </context>
<context>
    <name>imprint::ui::PinDialog</name>
    </context>
<context>
    <name>imprint::ui::PlantFigures</name>
    </context>
<context>
    <name>imprint::ui::QaScreen</name>
    <message numerus="yes">
        <source>✔ The audit log is intact (%n entries).</source>
        <translation><numerusform>✔ The audit log is intact (%n entry).</numerusform><numerusform>✔ The audit log is intact (%n entries).</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>⚠ %n stations hold a record of this serial; each is shown, the one heard from last first.</source>
        <translation><numerusform>⚠ %n stations hold a record of this serial; each is shown, the one heard from last first.</numerusform><numerusform>⚠ %n stations hold a record of this serial; each is shown, the one heard from last first.</numerusform></translation>
    </message>
    </context>
<context>
    <name>imprint::ui::ShiftPanel</name>
    <message numerus="yes">
        <source>%n device(s)/h</source>
        <translation><numerusform>%n device/h</numerusform><numerusform>%n devices/h</numerusform></translation>
    </message>
    </context>
<context>
    <name>imprint::ui::SignInDialog</name>
    </context>
<context>
    <name>imprint::ui::SlotModel</name>
    </context>
<context>
    <name>imprint::ui::SlotTile</name>
    </context>
</TS>