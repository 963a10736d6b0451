#!/usr/bin/env bash
# Least privilege with the command-line client, against a running certvault server:
# an application identity that can read one certificate's private key and nothing else.
#
#   examples/least-privilege.sh [DATA_DIR]
#
# DATA_DIR  the server's data directory, for admin.json and ca.pem (env CERTVAULT_DATA_DIR;
#           default ./data, where `make run` puts it)
# CERTVAULT_BIN  the certvault binary (default: build/certvault, else certvault on PATH)
#
# As the administrator it creates a certificate "web-<time>", a service principal "web-app"
# and gives that principal the role Secrets User on that one certificate. As web-app it then
# downloads the certificate's key and chain, is refused another secret and the secret list,
# and shows what the audit trail recorded. It deletes the principal at the end.
set -euo pipefail

data_dir=${1:-${CERTVAULT_DATA_DIR:-data}}
here=$(cd "$(dirname "$0")" && pwd)
bin=${CERTVAULT_BIN:-$here/../build/certvault}
[[ -x $bin ]] || bin=$(command -v certvault) || { echo "certvault binary not found" >&2; exit 1; }
[[ -r $data_dir/admin.json ]] || { echo "cannot read $data_dir/admin.json" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
admin=(--credentials "$data_dir/admin.json" --ca-file "$data_dir/ca.pem")
name=web-$(date +%s)

echo "== as administrator: a certificate, a principal, one role"
"$bin" cert create "$name" --subject "CN=$name.example" --dns "$name.example" --kty EC --content-type pem "${admin[@]}" >/dev/null
"$bin" secret set "$name-db-password" --value "not for web-app" "${admin[@]}" >/dev/null
sp_json=$("$bin" sp create --name web-app -o json "${admin[@]}")
client_id=$(jq -r .clientId <<<"$sp_json")
jq -n --argjson sp "$sp_json" --arg url "$(jq -r .token_url "$data_dir/admin.json")" \
  '{client_id: $sp.clientId, client_secret: $sp.clientSecret, token_url: $url}' >"$work/web-app.json"
chmod 600 "$work/web-app.json"
"$bin" role assign --principal "$client_id" --role "Secrets User" \
  --scope "/vaults/default/certificates/$name" "${admin[@]}"

app=(--credentials "$work/web-app.json" --ca-file "$data_dir/ca.pem")
echo "== as web-app: the certificate's key and chain"
"$bin" cert download "$name" --out "$work/$name.pem" "${app[@]}"
openssl pkey -in "$work/$name.pem" -noout && echo "key: ok"
openssl x509 -in "$work/$name.pem" -noout -subject

echo "== as web-app: everything else is refused"
if "$bin" secret show "$name-db-password" "${app[@]}"; then echo "unexpected: allowed" >&2; exit 1; fi
if "$bin" secret list "${app[@]}"; then echo "unexpected: allowed" >&2; exit 1; fi

echo "== the audit trail for web-app"
"$bin" audit list --principal "$client_id" "${admin[@]}"

"$bin" sp delete "$client_id" "${admin[@]}" >/dev/null
echo "== done: web-app deleted"
