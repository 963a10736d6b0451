#!/usr/bin/env bash
# The built-in CA with the command-line client, against a running certvault server: an issuer
# with a template, a certificate it signs, a renewal, a revocation and the CRL.
#
#   examples/internal-ca.sh [DATA_DIR]
#
# DATA_DIR  the server's data directory, for admin.json and ca.pem (env CERTVAULT_DATA_DIR;
#           default ./data, where `make run` puts it)
# CERTVAULT_BIN  the certvault binary (default: build/certvault, else certvault on PATH)
#
# It creates an issuer "corp-<time>" whose template "web" allows EC P-256 and RSA keys for names
# under corp.example, at most 30 days, server authentication only; a certificate signed by it; a
# renewal (a new version, a new key); then it revokes the first version and prints the CRL. A
# request outside the template is refused with the reason.
set -euo pipefail

data_dir=${1:-${CERTVAULT_DATA_DIR:-data}}
here=$(cd "$(dirname "$0")" && pwd)
bin=${CERTVAULT_BIN:-$here/../build/certvault}
[[ -x $bin ]] || bin=$(command -v certvault) || { echo "certvault binary not found" >&2; exit 1; }
[[ -r $data_dir/admin.json ]] || { echo "cannot read $data_dir/admin.json" >&2; exit 1; }

admin=(--credentials "$data_dir/admin.json" --ca-file "$data_dir/ca.pem")
stamp=$(date +%s)
issuer=corp-$stamp
name=web-$stamp

echo "== an issuer: the built-in CA with a template"
"$bin" issuer create "$issuer" --provider internal --settings '{
  "templates": {"web": {"key_types": ["EC-P256", "RSA-2048"], "dns_names": ["*.corp.example"],
                        "max_validity": "P30D", "ekus": ["1.3.6.1.5.5.7.3.1"]}},
  "default_template": "web"}' "${admin[@]}"

echo "== a certificate it signs (12 months asked, the template caps it at 30 days)"
"$bin" cert create "$name" --issuer "$issuer" --subject "CN=$name.corp.example" \
  --dns "$name.corp.example" --kty EC "${admin[@]}"
first=$("$bin" cert show "$name" -o json "${admin[@]}" | jq -r '.id | split("/") | last')

echo "== renewed now (AutoRenew would do it at 80% of the lifetime)"
"$bin" cert renew "$name" "${admin[@]}"
"$bin" jobs list --certificate "$name" "${admin[@]}"

echo "== the first version revoked; the CRL the certificates point to"
"$bin" cert revoke "$name" --version "$first" --reason superseded "${admin[@]}"
crl_url=$("$bin" cert show "$name" --version "$first" -o json "${admin[@]}" | jq -r .cer |
  base64 -d | openssl x509 -inform DER -noout -ext crlDistributionPoints | grep -o 'https://.*')
echo "CRL: $crl_url"
curl -sf --cacert "$data_dir/ca.pem" "$crl_url" | openssl crl -inform DER -noout -text |
  grep -E -A4 'Serial Number'

echo "== a request outside the template is refused with the reason"
if "$bin" cert create "evil-$stamp" --issuer "$issuer" --subject "CN=evil.example" \
  --dns evil.example --kty EC "${admin[@]}" 2>&1; then
  echo "unexpected: the template accepted evil.example" >&2
  exit 1
fi
