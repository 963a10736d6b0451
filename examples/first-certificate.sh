#!/usr/bin/env bash
# A first certificate with nothing but curl and openssl, against a running certvault server.
#
#   examples/first-certificate.sh [SERVER_URL [DATA_DIR]]
#
# SERVER_URL  the url= the server printed when it started (env CERTVAULT_SERVER;
#             default: the origin of token_url in DATA_DIR/admin.json)
# DATA_DIR    the server's data directory, for admin.json and ca.pem (env CERTVAULT_DATA_DIR;
#             default ./data, where `make run` puts it)
#
# Other settings (environment): CERTVAULT_VAULT (default "default"), CERT_NAME (default
# first-cert-<unix time>), OUT_DIR (where the PEM files go; default a new temporary directory).
#
# It starts nothing. It gets a token (OAuth2 client credentials), creates a self-signed EC P-256
# certificate whose secret is PEM, polls the pending operation until it leaves inProgress,
# downloads the secret (private key + certificate), and checks with openssl that the key belongs
# to the certificate. jq is used when installed; otherwise a small sed fallback reads the JSON.
set -euo pipefail

data_dir=${2:-${CERTVAULT_DATA_DIR:-data}}
admin_json=$data_dir/admin.json
ca_pem=$data_dir/ca.pem
vault=${CERTVAULT_VAULT:-default}
name=${CERT_NAME:-first-cert-$(date +%s)}
api="api-version=7.5"

die() { echo "first-certificate: $*" >&2; exit 1; }
[[ -r $admin_json ]] || die "cannot read $admin_json (pass the data dir as the 2nd argument or set CERTVAULT_DATA_DIR)"
[[ -r $ca_pem ]] || die "cannot read $ca_pem"
command -v curl >/dev/null || die "curl is required"
command -v openssl >/dev/null || die "openssl is required"

# json_get FIELD: prints a top-level string field of the JSON on stdin ("" if absent).
json_get() {
  if command -v jq >/dev/null; then
    jq -r --arg f "$1" '.[$f] // "" | tostring'
  else
    # Fallback for the flat JSON certvault writes: string fields whose only escapes are \n, \/ and \".
    sed -n "s/.*\"$1\" *: *\"\(\([^\"\\\\]\|\\\\.\)*\)\".*/\1/p" | head -n1 |
      sed -e 's/\\n/\n/g' -e 's/\\\//\//g' -e 's/\\"/"/g'
  fi
}

client_id=$(json_get client_id <"$admin_json")
client_secret=$(json_get client_secret <"$admin_json")
token_url=$(json_get token_url <"$admin_json")
server=${1:-${CERTVAULT_SERVER:-${token_url%/oauth2/token}}}
server=${server%/}

# The vault's address is https://{vault}.{server host}:{port}. --connect-to makes curl connect
# to the server's own host and port for it, so only the server's host name has to resolve (curl
# also resolves *.localhost by itself). TLS still checks the vault host against the server
# certificate, which names every vault.
hostport=${server#https://}
host=${hostport%:*}
port=${hostport##*:}
[[ $hostport == *:* ]] || port=443
if [[ $host =~ ^[0-9.]+$ || $host == \[* ]]; then
  # An IP literal addresses the default vault only.
  [[ $vault == default ]] || die "SERVER_URL is an IP address, which reaches only the default vault"
  vault_url=$server
  connect_to=()
else
  vault_url=https://$vault.$host:$port
  connect_to=(--connect-to "$vault.$host:$port:$host:$port")
fi

curl_api() {  # curl_api METHOD URL [BODY]: prints the response body, fails on HTTP >= 400
  local args=(-sS --fail-with-body --cacert "$ca_pem" "${connect_to[@]}" -X "$1" "$2"
              -H "Authorization: Bearer $token")
  [[ $# -ge 3 ]] && args+=(-H "Content-Type: application/json" -d "$3")
  curl "${args[@]}" || { echo >&2; die "$1 $2 failed"; }
}

echo "1. token from $token_url"
token=$(curl -sS --fail-with-body --cacert "$ca_pem" "$token_url" \
  --data-urlencode grant_type=client_credentials \
  --data-urlencode "client_id=$client_id" \
  --data-urlencode "client_secret=$client_secret" | json_get access_token)
[[ -n $token ]] || die "no access_token in the token response"

echo "2. create $vault_url/certificates/$name (EC P-256, Self issuer, PEM secret)"
policy='{"policy": {
  "key_props": {"kty": "EC", "crv": "P-256", "exportable": true},
  "secret_props": {"contentType": "application/x-pem-file"},
  "x509_props": {"subject": "CN='"$name"'.example.com",
                 "sans": {"dns_names": ["'"$name"'.example.com"]},
                 "validity_months": 12},
  "issuer": {"name": "Self"}}}'
curl_api POST "$vault_url/certificates/$name/create?$api" "$policy" >/dev/null

echo "3. poll the pending operation"
for _ in $(seq 1 60); do
  status=$(curl_api GET "$vault_url/certificates/$name/pending?$api" | json_get status)
  [[ $status != inProgress ]] && break
  sleep 1
done
[[ $status == completed ]] || die "the operation ended with status '$status'"
echo "   status: $status"

echo "4. download the secret (key + certificate)"
out=${OUT_DIR:-$(mktemp -d)}
mkdir -p "$out"
umask 077
curl_api GET "$vault_url/secrets/$name?$api" | json_get value >"$out/$name.pem"
openssl x509 -in "$out/$name.pem" -out "$out/$name.crt"
openssl pkey -in "$out/$name.pem" -out "$out/$name.key"

echo "5. check with openssl"
openssl x509 -in "$out/$name.crt" -noout -subject -enddate -ext subjectAltName | sed 's/^/   /'
key_pub=$(openssl pkey -in "$out/$name.key" -pubout | openssl sha256 -r)
cert_pub=$(openssl x509 -in "$out/$name.crt" -noout -pubkey | openssl sha256 -r)
[[ $key_pub == "$cert_pub" ]] || die "the private key does not match the certificate"
echo "   the private key matches the certificate"
echo "files: $out/$name.pem (key + certificate), $out/$name.key, $out/$name.crt"
