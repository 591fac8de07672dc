#!/usr/bin/env bash
# The Debian packages as a plant's IT meets them (label "package"):
#   tests/package/package-test.sh SOURCE_DIR BUILD_DIR
#
# Builds imprint and imprint-tools with packaging/build-deb from BUILD_DIR (already built:
# nothing is compiled), twice with the same SOURCE_DATE_EPOCH, and compares the bytes; runs
# lintian (an error fails, so does a warning the README does not explain), appstreamcli
# validate and desktop-file-validate; installs a package of a lower version (0.0.9, made
# from the same programs, or the packages in $IMPRINT_PACKAGE_OLD_DIR) with apt-get; sets a
# station up in /var/lib/imprint as the service user and provisions a simulated device
# through the installed programs; upgrades to this version and checks every record is kept;
# runs the installed window offscreen on a second device; syncs both records upstream with
# imprint-station.service's command line (the station service, as imprint); provisions a
# device as an operator account in imprint-line through the service with imprintctl and
# another with the window offscreen; checks "imprint --help" with no display; removes
# the packages (the records stay) and purges them (the records are moved to /var/backups).
#
# It changes the machine (packages, the system user "imprint"), so it needs root or
# passwordless sudo, and fails (never skips) without them; it refuses to run where imprint is
# installed or /var/lib/imprint exists (a real station), and removes what it installed.
set -euo pipefail

fail() {
    echo "package-test: FAILED: $*" >&2
    exit 1
}
step() { echo "== $*"; }

src=${1:?usage: package-test.sh SOURCE_DIR BUILD_DIR}
build=${2:?usage: package-test.sh SOURCE_DIR BUILD_DIR}
src=$(cd "$src" && pwd)
build=$(cd "$build" && pwd)

if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        exec sudo -n --preserve-env=SOURCE_DATE_EPOCH,IMPRINT_PACKAGE_OLD_DIR "$0" "$src" "$build"
    fi
    fail "this test installs, upgrades and purges the imprint package with apt-get and runs programs as the" \
        "system user \"imprint\": it needs root or passwordless sudo, and has neither (uid $(id -u))." \
        "Run it as root, e.g. sudo ctest --test-dir $build -L package"
fi

for tool in lintian appstreamcli desktop-file-validate dpkg-deb apt-get setpriv python3 openssl; do
    command -v "$tool" >/dev/null || fail "$tool is missing: run packaging/setup"
done
for pkg in imprint imprint-tools; do
    if [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null) == [ihu]i* ]]; then
        fail "$pkg is installed on this machine (a real station?): this test installs and purges it; run it elsewhere"
    fi
done
[[ ! -e /var/lib/imprint ]] || fail "/var/lib/imprint exists (a station's data?): this test would purge it; run it elsewhere"
user_existed=0
getent passwd imprint >/dev/null && user_existed=1

export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$src" log -1 --format=%ct 2>/dev/null || echo 1796400000)}
work=$(mktemp -d)
chmod 0755 "$work"
pids=()
backups_before=$(ls -d /var/backups/imprint-* 2>/dev/null || true)
cleanup() {
    local status=$?
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if dpkg-query -W imprint imprint-tools >/dev/null 2>&1; then
        apt-get purge -y imprint imprint-tools >/dev/null 2>&1 || true
    fi
    for dir in /var/backups/imprint-*; do
        [[ -d "$dir" ]] || continue
        grep -qxF "$dir" <<<"$backups_before" || rm -rf "$dir"
    done
    rm -rf /var/lib/imprint /run/imprint
    userdel imprint-pkgop >/dev/null 2>&1 || true
    if ((!user_existed)) && getent passwd imprint >/dev/null; then
        deluser --system --quiet imprint >/dev/null 2>&1 || true
        if getent group imprint-line >/dev/null; then delgroup --system --quiet imprint-line >/dev/null 2>&1 || true; fi
        if getent group imprint >/dev/null; then delgroup --system --quiet imprint >/dev/null 2>&1 || true; fi
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

# Runs a command as the service user, as the unit does: its own environment, no terminal.
runtime="$work/runtime"
imprint_user=(setpriv --reuid=imprint --regid=imprint --init-groups -- env -i HOME=/var/lib/imprint
    PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 XDG_RUNTIME_DIR="$runtime")
as_imprint() { (cd / && exec "${imprint_user[@]}" "$@"); }
# Starts a simulated device (the installed imprint-devsim) as the service user, its port in
# $port; the simulator runs until the test ends.
device() { # PREFIX
    local out="$work/devsim-$1.out"
    # exec: $! is the simulator itself, for the clean-up to stop.
    (cd / && exec "${imprint_user[@]}" imprint-devsim --count 1 --serial-prefix "$1") >"$out" 2>"$work/devsim-$1.err" &
    pids+=($!)
    for _ in $(seq 100); do
        [[ -s "$out" ]] && break
        sleep 0.1
    done
    port=$(head -n1 "$out")
    [[ -n "$port" ]] || fail "imprint-devsim gave no port: $(cat "$work/devsim-$1.err")"
}
json() { # EXPRESSION (on the JSON on standard input, as "d")
    python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"
}

build_deb() { "$src/packaging/build-deb" --no-build "$@" "$build"; }
cur_version=$(sed -n 's/^project(imprint VERSION \([0-9][0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
arch=$(dpkg --print-architecture)
deb="imprint_${cur_version}_${arch}.deb"
tools_deb="imprint-tools_${cur_version}_${arch}.deb"

step "build the packages twice (SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH) and compare the bytes"
build_deb --out "$work/a" >/dev/null
build_deb --out "$work/b" >/dev/null
for f in "$deb" "$tools_deb"; do
    [[ -f "$work/a/$f" ]] || fail "packaging/build-deb made no $f"
    cmp "$work/a/$f" "$work/b/$f" || fail "two builds of $f differ"
    echo "same bytes: $f $(sha256sum <"$work/a/$f" | cut -c1-16)"
done
cur="$work/a"

step "lintian"
# lintian exits 1 when it finds errors and 2 when it could not check at all.
lintian_status=0
lintian --pedantic --display-info "$cur/$deb" "$cur/$tools_deb" >"$work/lintian.txt" 2>&1 || lintian_status=$?
cat "$work/lintian.txt"
[[ $lintian_status -le 1 ]] || fail "lintian did not run (exit $lintian_status)"
! grep -q '^E: ' "$work/lintian.txt" || fail "lintian reports errors"
# Every warning is fixed or explained in the README.
while read -r tag; do
    grep -qF "$tag" "$src/README.md" || fail "lintian warns $tag and the README does not explain it"
done < <(sed -n 's/^W: [^ ]*: \([^ ]*\).*/\1/p' "$work/lintian.txt" | sort -u)

step "contents, AppStream, desktop entry, manual pages, Depends"
dpkg-deb -x "$cur/$deb" "$work/root"
dpkg-deb -x "$cur/$tools_deb" "$work/root-tools"
for f in usr/bin/imprint usr/bin/imprintctl usr/lib/udev/rules.d/70-imprint-devices.rules \
    usr/share/applications/imprint.desktop usr/share/icons/hicolor/scalable/apps/imprint.svg \
    usr/lib/systemd/system/imprint-station.service usr/share/man/man1/imprint.1.gz \
    usr/share/man/man1/imprintctl.1.gz usr/share/doc/imprint/copyright usr/share/doc/imprint/changelog.gz; do
    [[ -e "$work/root/$f" ]] || fail "$deb lacks /$f"
done
for f in usr/bin/imprint-devsim usr/share/man/man1/imprint-devsim.1.gz usr/share/doc/imprint-tools/copyright; do
    [[ -e "$work/root-tools/$f" ]] || fail "$tools_deb lacks /$f"
done
if [[ -x "$build/tools/imprint-devcheck" ]]; then
    for f in usr/bin/imprint-devcheck usr/share/man/man1/imprint-devcheck.1.gz; do
        [[ -e "$work/root-tools/$f" ]] || fail "$tools_deb lacks /$f"
    done
fi
ls "$work"/root/usr/share/metainfo/*.metainfo.xml >/dev/null 2>&1 || fail "$deb has no AppStream metadata"
appstreamcli validate --no-net "$work"/root/usr/share/metainfo/*.metainfo.xml || fail "appstreamcli validate refuses the metadata"
appstreamcli validate-tree --no-net "$work/root" || fail "appstreamcli validate-tree refuses the package's tree"
desktop-file-validate "$work/root/usr/share/applications/imprint.desktop" || fail "desktop-file-validate refuses the desktop entry"
for f in "$work"/root/usr/bin/* "$work"/root-tools/usr/bin/*; do
    sections=$(readelf --sections "$f")
    ! grep -qE '\.(symtab|debug_info)' <<<"$sections" || fail "/usr/bin/${f##*/} is not stripped"
done
depends=$(dpkg-deb -f "$cur/$deb" Depends | sed -e 's/ *([^)]*)//g' -e 's/, */\n/g')
while read -r pkg; do
    grep -qxF "$pkg" <<<"$depends" || fail "Depends lacks $pkg, a \"run\" line of packaging/debian-packages.txt"
done < <(awk '!/^[[:space:]]*#/ && NF { for (i = 2; i <= NF; ++i) if ($i == "run") print $1 }' "$src/packaging/debian-packages.txt")
# The manual pages name every option the programs' --help does (they are made from it).
man_imprint=$(zcat "$work/root/usr/share/man/man1/imprint.1.gz" | sed -e 's/\\-/-/g')
man_imprintctl=$(zcat "$work/root/usr/share/man/man1/imprintctl.1.gz" | sed -e 's/\\-/-/g')
for opt in $(QT_QPA_PLATFORM=offscreen "$work/root/usr/bin/imprint" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
    grep -qF -- "$opt" <<<"$man_imprint" || fail "imprint(1) lacks $opt"
done
while read -r cmd; do
    grep -qF "imprintctl $cmd\"" <<<"$man_imprintctl" || fail "imprintctl(1) lacks the command $cmd"
done < <("$work/root/usr/bin/imprintctl" --help 2>&1 | awk '/^commands:$/ { on = 1; next } on && /^  [^ ]/ { sub(/^  /, ""); split($0, a, /  +/); print a[1] }')

if [[ -n "${IMPRINT_PACKAGE_OLD_DIR:-}" ]]; then
    old="$IMPRINT_PACKAGE_OLD_DIR"
    step "the older packages: $old"
else
    step "build the older packages (0.0.9) from the same programs"
    build_deb --version 0.0.9 --out "$work/old" >/dev/null
    old="$work/old"
fi
old_debs=("$old"/imprint_*_"$arch".deb "$old"/imprint-tools_*_"$arch".deb)
[[ -f "${old_debs[0]}" && -f "${old_debs[1]}" ]] || fail "no imprint and imprint-tools packages in $old"
old_version=$(dpkg-deb -f "${old_debs[0]}" Version)
dpkg --compare-versions "$old_version" lt "$cur_version" || fail "the older package's version $old_version is not lower than $cur_version"

step "install $old_version with apt-get"
apt-get install -y --no-install-recommends "${old_debs[@]}" >"$work/apt-old.log" 2>&1 || { cat "$work/apt-old.log"; fail "apt-get install of $old_version"; }
getent passwd imprint >/dev/null || fail "the package made no user imprint"
groups=$(id -nG imprint | tr ' ' '\n')
for group in dialout plugdev; do
    grep -qx "$group" <<<"$groups" || fail "the user imprint is not in $group"
done
[[ $(stat -c '%U %a' /var/lib/imprint) == "imprint 700" ]] || fail "/var/lib/imprint is $(stat -c '%U %a' /var/lib/imprint), not imprint 700"
install -d -o imprint -g imprint -m 0700 "$runtime"

step "set a station up as the service user and provision a device with imprintctl"
as_imprint env IMPRINT_DATA_DIR=/var/lib/imprint imprintctl init --station-name package-test
[[ -f /var/lib/imprint/station.ini ]] || fail "imprintctl init made no /var/lib/imprint/station.ini"
device PKGA
as_imprint imprintctl provision --data-dir /var/lib/imprint --port "$port" --operator package-test --json >"$work/provision.json" \
    || { cat "$work/provision.json"; fail "imprintctl provision (the installed $old_version)"; }
[[ $(json 'd["status"]' <"$work/provision.json") == passed ]] || fail "the device did not pass: $(cat "$work/provision.json")"
cert_a=$(json 'd["certificate"]["serial"]' <"$work/provision.json")
as_imprint imprintctl list --data-dir /var/lib/imprint --json >"$work/list-before.json"
as_imprint imprintctl show --data-dir /var/lib/imprint --device-serial PKGA-0001 >"$work/show-before.txt"

if [[ -z "${IMPRINT_PACKAGE_OLD_DIR:-}" ]]; then
    # The older package here is the same programs under a lower version, so the store it left
    # is already at the newest schema. Wind it back to schema 6, as the release before station
    # ids (schema 7), checkpoints in the chain and revocation reasons (8) and sign-in counts (9)
    # left its stores, so that the upgrade crosses real migrations; the window and the station
    # service are not running.
    step "wind the store back to schema 6 (before station ids), as an older release left it"
    python3 - /var/lib/imprint/imprint.sqlite <<'PY' || fail "could not wind the store back to schema 6"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
assert db.execute("PRAGMA user_version").fetchone()[0] == 11
for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'plant%'").fetchall():
    db.execute("DROP TRIGGER " + name)
for statement in ("DROP TABLE plant_log", "DROP TABLE plant_sent", "DROP TABLE plant_contact", "DROP TABLE attempts", "DROP TABLE sign_in_attempts", "DROP INDEX audit_by_kind", "DROP INDEX jobs_failed",
                  "ALTER TABLE certificates DROP COLUMN revocation_reason", "ALTER TABLE outbox DROP COLUMN reason",
                  "CREATE TABLE audit_checkpoints (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, at TEXT NOT NULL, "
                  "key_sha256 TEXT NOT NULL, signature BLOB NOT NULL)",
                  "DROP TABLE station"):
    db.execute(statement)
db.execute("PRAGMA user_version = 6")
db.commit()
PY
fi

step "upgrade to $cur_version with apt-get over the station's data"
apt-get install -y --no-install-recommends "$cur/$deb" "$cur/$tools_deb" >"$work/apt-cur.log" 2>&1 || { cat "$work/apt-cur.log"; fail "apt-get install of $cur_version"; }
[[ $(dpkg-query -W -f='${Version}' imprint) == "$cur_version" ]] || fail "imprint is not at $cur_version after the upgrade"
as_imprint imprintctl list --data-dir /var/lib/imprint --json >"$work/list-after.json"
cmp -s "$work/list-before.json" "$work/list-after.json" || fail "the device list changed over the upgrade"
as_imprint imprintctl show --data-dir /var/lib/imprint --device-serial PKGA-0001 >"$work/show-after.txt"
cmp -s "$work/show-before.txt" "$work/show-after.txt" || fail "the device's record changed over the upgrade"
grep -q "$cert_a" "$work/show-after.txt" || fail "the device's certificate $cert_a is not on record after the upgrade"
as_imprint imprintctl audit verify --data-dir /var/lib/imprint || fail "audit verify after the upgrade"
# The migration ran: the upgraded programs' first command took the store to the newest schema.
python3 - /var/lib/imprint/imprint.sqlite <<'PY' || fail "the store was not migrated by the upgraded programs"
import sqlite3, sys
version = sqlite3.connect(sys.argv[1]).execute("PRAGMA user_version").fetchone()[0]
assert version == 11, f"schema {version}"
PY

step "the installed window, offscreen, provisions a second device"
device PKGB
as_imprint env QT_QPA_PLATFORM=offscreen timeout 120 imprint --data-dir /var/lib/imprint --port "$port" \
    --operator package-test --exit-when-done --screenshot /var/lib/imprint/screenshot.png >"$work/window.out" 2>"$work/window.err" \
    || { cat "$work/window.out" "$work/window.err"; fail "the window (offscreen) did not pass the device"; }
cat "$work/window.out"
grep -q '^PASS  PKGB-0001' "$work/window.out" || fail "the window printed no PASS for PKGB-0001"
[[ -s /var/lib/imprint/screenshot.png ]] || fail "the window saved no screenshot"
# The station's first start after the upgrade claimed the store from before station ids for
# this station (the id station.ini holds).
python3 - /var/lib/imprint/imprint.sqlite /var/lib/imprint/station.ini <<'PY' || fail "the upgraded store does not name this station"
import configparser, sqlite3, sys
ini = configparser.ConfigParser(interpolation=None)
ini.read(sys.argv[2])
ids = [r[0] for r in sqlite3.connect(sys.argv[1]).execute("SELECT id FROM station")]
assert ids == [ini["station"]["id"]], ids
PY

step "imprint-station.service as the service user: the records go upstream"
# A corporate CA certifies the station's RA key (made in the token); the test upstream
# (imprint-upstream, from the build tree) serves it on a free port.
shared="$work/upstream"
install -d -m 0755 "$shared"
cd "$shared"
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >ee.ext
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -subj "/O=Corp/CN=Corp Device CA" -days 30 -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
as_imprint imprintctl ra keygen --data-dir /var/lib/imprint >/dev/null
as_imprint imprintctl ra csr --data-dir /var/lib/imprint --subject "/O=Acme/CN=Package Test RA" --out /var/lib/imprint/ra.csr >/dev/null
openssl x509 -req -in /var/lib/imprint/ra.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out ra.pem -days 30 -extfile ee.ext 2>/dev/null
chmod 0644 ca.pem ra.pem
as_imprint imprintctl ra import --data-dir /var/lib/imprint --cert "$shared/ra.pem" --chain "$shared/ca.pem" >/dev/null
"$build/fixtures/imprint-upstream" --port 0 --port-file port --ca-cert ca.pem --ca-key ca.key --trusted ca.pem \
    >upstream.log 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -s port ]] && break; sleep 0.1; done
[[ -s port ]] || fail "imprint-upstream did not start: $(cat upstream.log)"
as_imprint imprintctl upstream configure --data-dir /var/lib/imprint --url "http://127.0.0.1:$(cat port)/pkix/" \
    --trusted "$shared/ca.pem" >/dev/null
cd /
unit=/usr/lib/systemd/system/imprint-station.service
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify "$unit" || fail "systemd-analyze verify refuses $unit"
    # The sandbox stays tight: systemd 252 rates the unit 1.5 ("OK"; 5.5 before its capability
    # set, system call filter, device policy and /proc limits). 2.0 leaves room for versions
    # that weigh more settings, and fails when the capability set or the filter is dropped.
    if [[ $(systemd-analyze --help) == *--offline* ]]; then
        systemd-analyze security --offline=yes --threshold=20 "$unit" >"$work/security.txt" 2>&1 \
            || { cat "$work/security.txt"; fail "systemd-analyze security rates $unit above 2.0 (exposure)"; }
        tail -n 1 "$work/security.txt"
    fi
fi
[[ $(sed -n 's/^User=//p' "$unit") == imprint ]] || fail "$unit does not run as imprint"
[[ $(sed -n 's/^Type=//p' "$unit") == notify ]] || fail "$unit is not Type=notify"
read -r -a exec_start <<<"$(sed -n 's/^ExecStart=//p' "$unit")"
# The test's devices are simulated, on pseudo-terminals, which a station takes only when told.
exec_start+=(--allow-pty)
if [[ -d /run/systemd/system ]]; then
    install -d /run/systemd/system/imprint-station.service.d
    printf '[Service]\nExecStart=\nExecStart=%s\n' "${exec_start[*]}" >/run/systemd/system/imprint-station.service.d/test.conf
    systemctl daemon-reload
    systemctl start imprint-station.service
else
    # No systemd here (a container): the unit's own command line, as its user, with the
    # runtime directory systemd would make.
    install -d -o imprint -g imprint -m 0755 /run/imprint
    (cd / && exec "${imprint_user[@]}" "${exec_start[@]}") >"$work/imprintd.log" 2>&1 &
    service_pid=$!
    pids+=($service_pid)
fi
for _ in $(seq 100); do [[ -S /run/imprint/station.sock ]] && break; sleep 0.1; done
[[ -S /run/imprint/station.sock ]] || fail "the station service made no socket: $(cat "$work/imprintd.log" 2>/dev/null)"
# The service syncs: the records go upstream with no window and no command.
for _ in $(seq 60); do
    confirmed=$(as_imprint imprintctl upstream status --json | json 'd["rows"]["confirmed"]')
    ((confirmed >= 2)) && break
    sleep 1
done
confirmed=$(as_imprint imprintctl upstream status --json | json 'd["rows"]["confirmed"]')
((confirmed == 2)) || fail "$confirmed of 2 records confirmed upstream"

step "an operator in imprint-line provisions a device through the station service"
getent group imprint-line >/dev/null || fail "the package made no group imprint-line"
useradd --no-create-home --shell /usr/sbin/nologin --groups imprint-line imprint-pkgop
operator=(setpriv --reuid=imprint-pkgop --regid=imprint-pkgop --init-groups -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin
    LC_ALL=C.UTF-8)
device PKGC
(cd / && "${operator[@]}" imprintctl provision --port "$port" --json) >"$work/provision-op.json" \
    || { cat "$work/provision-op.json"; fail "imprintctl provision as an operator through the service"; }
[[ $(json 'd["status"]' <"$work/provision-op.json") == passed ]] || fail "the operator's device did not pass"
# The window, offscreen, as the same operator: the service's client.
device PKGD
(cd / && "${operator[@]}" QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=/tmp timeout 120 imprint --port "$port" \
    --operator pkgop --exit-when-done) >"$work/window-op.out" 2>"$work/window-op.err" \
    || { cat "$work/window-op.out" "$work/window-op.err"; fail "the window as an operator through the service"; }
grep -q '^PASS  PKGD-0001' "$work/window-op.out" || fail "the operator's window printed no PASS for PKGD-0001"
# The operator reads no secret and signs nothing without the admin's PIN.
! (cd / && "${operator[@]}" cat /var/lib/imprint/secrets/user.pin) 2>/dev/null || fail "the operator reads the PIN file"
status=0
(cd / && "${operator[@]}" imprintctl ca crl </dev/null) >/dev/null 2>&1 || status=$?
((status == 7)) || fail "the operator's ca crl was not refused (exit $status)"
userdel imprint-pkgop
if [[ -d /run/systemd/system ]]; then
    systemctl is-active --quiet imprint-station.service || fail "imprint-station.service is not running"
    journalctl -u imprint-station.service --no-pager | tail -n 5
    systemctl stop imprint-station.service
    rm -rf /run/systemd/system/imprint-station.service.d
    systemctl daemon-reload
else
    kill -TERM "$service_pid"
    wait "$service_pid" || fail "the station service did not stop cleanly on SIGTERM: $(cat "$work/imprintd.log")"
    cat "$work/imprintd.log"
fi

step "imprint --help and --version with no display"
env -u DISPLAY -u WAYLAND_DISPLAY -u QT_QPA_PLATFORM imprint --help >"$work/help.txt" 2>&1 \
    || { cat "$work/help.txt"; fail "imprint --help failed with no display"; }
for opt in --data-dir --port --operator --exit-when-done --lang; do
    grep -qF -- "$opt" "$work/help.txt" || fail "imprint --help does not list $opt"
done
[[ $(env -u DISPLAY -u WAYLAND_DISPLAY -u QT_QPA_PLATFORM imprint --version) == "imprint $cur_version" ]] \
    || fail "imprint --version with no display"

step "apt-get remove keeps the records"
apt-get remove -y imprint imprint-tools >"$work/apt-remove.log" 2>&1 || { cat "$work/apt-remove.log"; fail "apt-get remove"; }
[[ ! -e /usr/bin/imprintctl ]] || fail "/usr/bin/imprintctl is still there after remove"
[[ -s /var/lib/imprint/imprint.sqlite ]] || fail "remove took the records"
getent passwd imprint >/dev/null || fail "remove took the user imprint"

step "apt-get purge moves the records to /var/backups"
apt-get purge -y imprint imprint-tools >"$work/apt-purge.log" 2>&1 || { cat "$work/apt-purge.log"; fail "apt-get purge"; }
[[ ! -e /var/lib/imprint ]] || fail "/var/lib/imprint is still there after purge"
moved=''
for dir in /var/backups/imprint-*; do
    [[ -d "$dir" ]] && ! grep -qxF "$dir" <<<"$backups_before" && moved=$dir
done
[[ -n "$moved" && -s "$moved/imprint.sqlite" ]] || fail "purge did not keep the records in /var/backups"
grep -q "moved to $moved" "$work/apt-purge.log" || fail "purge did not say where the records went"
! dpkg-query -W imprint >/dev/null 2>&1 || fail "imprint is still known to dpkg after purge"

echo "package-test: passed"
