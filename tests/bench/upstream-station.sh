# Sourced by the benchmarks that need a station synced to an upstream: in the current
# directory, a corporate CA (ca.pem, ca.key), a station (./station) whose RA key in the token
# it certified, and imprint-upstream serving it on a free port ($port, pid $upstream_pid),
# the station configured to it. Needs $ctl and $build.
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >ee.ext
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -subj "/O=Corp/CN=Corp Device CA" -days 3650 -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
"$ctl" init --data-dir station >/dev/null
"$ctl" ra keygen --data-dir station >/dev/null
"$ctl" ra csr --data-dir station --subject "/O=Acme/CN=Bench RA" --out ra.csr 2>/dev/null
openssl x509 -req -in ra.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out ra.pem -days 30 -extfile ee.ext 2>/dev/null
"$ctl" ra import --data-dir station --cert ra.pem --chain ca.pem >/dev/null
"$build/fixtures/imprint-upstream" --port 0 --port-file port --ca-cert ca.pem --ca-key ca.key --trusted ca.pem \
    --counts counts.json --delay-ms "${delay:-0}" $([[ ${IMPLICIT_CONFIRM:-} == true ]] && echo --grant-implicit-confirm) >upstream.log 2>&1 &
upstream_pid=$!
for _ in $(seq 50); do [[ -s port ]] && break; sleep 0.1; done
port=$(cat port)
"$ctl" upstream configure --data-dir station --url "http://127.0.0.1:$port/pkix/" --trusted ca.pem >/dev/null
sed -i "/^\[upstream\]/a in-flight=${IN_FLIGHT:-32}\nimplicit-confirm=${IMPLICIT_CONFIRM:-false}" station/station.ini
