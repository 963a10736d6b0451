#!/usr/bin/env bash
# Writes the fuzzers' seed corpora to OUT_DIR/<target>/: the committed seeds from
# CORPUS_DIR/<target>/ plus small valid samples made with the openssl command (skipped, with a
# note, if it is missing). Keys are generated afresh each time; the seeds only need to be valid.
# PKCS#12 seeds use one PBKDF iteration so that fuzzing spends its time parsing, not hashing.
# Usage: make_seeds.sh OUT_DIR CORPUS_DIR
set -euo pipefail
mkdir -p "$(dirname "$1")"
out="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
committed=$2
targets=(fuzz_pem fuzz_der fuzz_pkcs12 fuzz_csr fuzz_json fuzz_jwt fuzz_scope fuzz_issuer_settings)

staging="$out.tmp"
rm -rf "$staging"
for t in "${targets[@]}"; do
  mkdir -p "$staging/$t"
  if [[ -d "$committed/$t" ]]; then cp "$committed/$t"/* "$staging/$t/"; fi
done

ossl() { openssl "$@" 2>/dev/null; }

generate() {
  cd "$1"
  sans="subjectAltName=DNS:seed.example,DNS:*.seed.example,IP:10.0.0.1,IP:2001:db8::1,email:a@seed.example,URI:https://seed.example/x,otherName:1.3.6.1.4.1.311.20.2.3;UTF8:u@seed.example"
  ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem
  ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out ec521.pem
  ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem
  ossl req -x509 -key rsa.pem -subj "/CN=Seed Root/O=certvault" -days 30 \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:1" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out root.pem
  ossl req -new -key ec.pem -subj "/CN=seed.example/O=certvault/C=US/emailAddress=a@seed.example" \
    -addext "$sans" -addext "keyUsage=critical,digitalSignature" \
    -addext "extendedKeyUsage=serverAuth,clientAuth" -out leaf.csr
  ossl x509 -req -in leaf.csr -CA root.pem -CAkey rsa.pem -CAcreateserial -days 30 -copy_extensions copy \
    -out leaf.pem
  ossl req -new -key ec521.pem -subj "/CN=Sub CA" -addext "basicConstraints=critical,CA:TRUE" \
    -outform DER -out ca.csr.der

  # PEM texts
  cat ec.pem leaf.pem root.pem > "$staging/fuzz_pem/bundle.pem"
  cp leaf.pem "$staging/fuzz_pem/leaf.pem"
  ossl pkey -in rsa.pem -traditional -out "$staging/fuzz_pem/rsa_pkcs1.pem"
  ossl pkey -in ec521.pem -traditional -out "$staging/fuzz_pem/ec_sec1.pem"
  ossl pkcs8 -topk8 -in ec.pem -passout pass:x -out "$staging/fuzz_pem/encrypted.pem"
  # DER
  ossl x509 -in leaf.pem -outform DER -out "$staging/fuzz_der/leaf.der"
  ossl x509 -in root.pem -outform DER -out "$staging/fuzz_der/root.der"
  ossl pkey -in ec.pem -outform DER -out "$staging/fuzz_der/ec_pkcs8.der"
  ossl pkey -in rsa.pem -outform DER -out "$staging/fuzz_der/rsa_pkcs8.der"
  ossl pkey -in ec521.pem -pubout -outform DER -out "$staging/fuzz_der/ec521_spki.der"
  ossl pkey -in rsa.pem -pubout -outform DER -out "$staging/fuzz_der/rsa_spki.der"
  # PKCS#12 (passwords "" and "fuzz", as fuzz_pkcs12 tries)
  cat leaf.pem root.pem > chain.pem
  ossl pkcs12 -export -inkey ec.pem -in chain.pem -iter 1 -passout pass: -out "$staging/fuzz_pkcs12/empty.pfx"
  ossl pkcs12 -export -inkey ec.pem -in chain.pem -iter 1 -passout pass:fuzz -macalg sha256 \
    -out "$staging/fuzz_pkcs12/aes.pfx"
  ossl pkcs12 -export -inkey ec.pem -in leaf.pem -iter 1 -passout pass:fuzz -keypbe PBE-SHA1-3DES \
    -certpbe PBE-SHA1-3DES -macalg sha1 -out "$staging/fuzz_pkcs12/3des.pfx"
  ossl pkcs12 -export -inkey ec.pem -in leaf.pem -passout pass: -keypbe NONE -certpbe NONE -nomac \
    -out "$staging/fuzz_pkcs12/plain.pfx"
  # CSRs
  cp leaf.csr "$staging/fuzz_csr/leaf.csr.pem"
  ossl req -in leaf.csr -outform DER -out "$staging/fuzz_csr/leaf.csr.der"
  cp ca.csr.der "$staging/fuzz_csr/ca.csr.der"
}

if command -v openssl >/dev/null 2>&1; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # A failing openssl step costs some seeds, never the build.
  if ! (generate "$work"); then echo "make_seeds.sh: some seeds could not be generated" >&2; fi
else
  echo "make_seeds.sh: openssl not found; only the committed seeds are used" >&2
fi

# Never leave a target without seeds: libFuzzer wants at least one input to start from.
for t in "${targets[@]}"; do
  if [[ -z "$(ls -A "$staging/$t")" ]]; then printf '\n' > "$staging/$t/empty"; fi
done
rm -rf "$out"
mv "$staging" "$out"
