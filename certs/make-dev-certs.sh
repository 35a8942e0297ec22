#!/usr/bin/env bash
# Makes the development PKI of Dossier: a CA, a server certificate for localhost, and sample
# client certificates of every kind following the profile of docs/PROTOCOL.md.
#
# Usage:
#   certs/make-dev-certs.sh [--force] [DIR]        (DIR defaults to certs/dev)
#
# Idempotent: when DIR already holds a complete set it does nothing, unless --force, which
# replaces the set (only the files listed below; anything else in DIR is left alone).
# A set whose private keys are missing (e.g. a fresh clone: keys are never committed) is
# incomplete and is made anew.
#
# What it writes (each certificate NAME.pem with its private key NAME.key, mode 600):
#   ca                        Dossier Development CA (EC P-256, 5 years): the server's client
#                             CA bundle and the clients' server trust root
#   server                    localhost, 127.0.0.1, ::1 (serverAuth)
#   patient-alice             urn:dossier:patient:1985010112345        Alice Weber
#   patient-bob               urn:dossier:patient:1990020254321        Bob Schmit (Alice's delegate)
#   professional-gp           urn:dossier:professional:gp-1001         OU gp, O practice-kirchberg
#   professional-pharmacist   urn:dossier:professional:pharm-2001      OU pharmacist, O pharmacie-centrale
#   professional-nurse        urn:dossier:professional:nurse-3001      OU nurse
#   professional-psychiatrist urn:dossier:professional:psy-4001        OU psychiatrist
#   professional-emergency    urn:dossier:professional:er-5001         OU emergency_physician, O chl
#   professional-lab          urn:dossier:professional:lab-6001        OU lab_biologist, O labo-ketterthill
#   organisation-hospital     urn:dossier:organisation:chl             O chl
#   operator-helpdesk         urn:dossier:operator:op-1                Helpdesk One
# and, for tests of refusal:
#   foreign-ca, foreign-gp    another CA, and a GP certificate from it (refused at the handshake)
#   outside-profile-no-uri    from the dev CA but without a urn:dossier URI (UNAUTHENTICATED)
#   outside-profile-no-profession  a professional without OU (UNAUTHENTICATED)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly ISSUE="$SCRIPT_DIR/issue-cert.sh"

die() { echo "make-dev-certs: $*" >&2; exit 2; }

# Runs a command quietly; shows what it printed only if it fails.
quiet() {
    local log
    if ! log="$("$@" 2>&1)"; then
        echo "make-dev-certs: failed: $*" >&2
        echo "$log" >&2
        exit 1
    fi
}

force=0 dir=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --force) force=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option: $1" ;;
        *) [[ -z "$dir" ]] || die "only one DIR may be given"; dir="$1"; shift ;;
    esac
done
dir="${dir:-$SCRIPT_DIR/dev}"

command -v openssl >/dev/null || die "openssl is not installed (apt-get install openssl)"
if ! [[ "$(openssl version)" =~ ^OpenSSL\ ([0-9]+) ]] || (( BASH_REMATCH[1] < 3 )); then
    die "OpenSSL 3 is required, found: $(openssl version)"
fi

# Every file of the set, by base name (NAME.pem + NAME.key).
readonly CLIENTS=(
    patient-alice patient-bob
    professional-gp professional-pharmacist professional-nurse professional-psychiatrist
    professional-emergency professional-lab
    organisation-hospital operator-helpdesk
)
readonly SET=(ca server "${CLIENTS[@]}" foreign-ca foreign-gp
    outside-profile-no-uri outside-profile-no-profession)

complete=1
for name in "${SET[@]}"; do
    [[ -f "$dir/$name.pem" && -f "$dir/$name.key" ]] || { complete=0; break; }
done

if [[ -f "$dir/ca.pem" ]] && (( ! force )); then
    if (( complete )); then
        echo "development certificates already in $dir (use --force to make them anew)"
        exit 0
    fi
    echo "the certificate set in $dir is incomplete (missing keys?): making it anew"
fi

mkdir -p "$dir"
for name in "${SET[@]}"; do rm -f "$dir/$name.pem" "$dir/$name.key"; done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# new_key FILE: an EC P-256 private key, readable by its owner only.
new_key() {
    (umask 077 && quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1")
    chmod 600 "$1"
}

# random_serial: a positive 128-bit serial, always 32 lower-case hex digits.
random_serial() {
    printf '%02x%s' $(( (0x$(openssl rand -hex 1) & 0x6f) + 0x10 )) "$(openssl rand -hex 15)"
}

# make_ca NAME CN O: a self-signed CA valid 5 years.
make_ca() {
    local name="$1" cn="$2" org="$3"
    new_key "$dir/$name.key"
    cat > "$work/$name.cnf" <<EOF
[ca]
basicConstraints     = critical, CA:TRUE, pathlen:0
keyUsage             = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
    quiet openssl req -new -utf8 -key "$dir/$name.key" -subj "/O=$org/CN=$cn" \
        -out "$work/$name.csr"
    quiet openssl x509 -req -in "$work/$name.csr" -signkey "$dir/$name.key" -sha256 -days 1826 \
        -set_serial "0x$(random_serial)" -extfile "$work/$name.cnf" -extensions ca \
        -out "$dir/$name.pem"
    chmod 644 "$dir/$name.pem"
    echo "made $dir/$name.pem  $cn"
}

# sign NAME SUBJECT EXTENSIONS: a leaf certificate from the dev CA with the given extension
# lines (used for the server and the deliberately out-of-profile samples; profile-following
# client certificates are issued by issue-cert.sh, the one place that knows the profile).
sign() {
    local name="$1" subject="$2" extensions="$3"
    new_key "$dir/$name.key"
    printf '[leaf]\n%s\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n' \
        "$extensions" > "$work/$name.cnf"
    quiet openssl req -new -utf8 -key "$dir/$name.key" -subj "$subject" -out "$work/$name.csr"
    quiet openssl x509 -req -in "$work/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
        -set_serial "0x$(random_serial)" -days 730 -sha256 \
        -extfile "$work/$name.cnf" -extensions leaf -out "$dir/$name.pem"
    chmod 644 "$dir/$name.pem"
    echo "made $dir/$name.pem  $subject"
}

# --- The development CA and the server ------------------------------------------------------

make_ca ca "Dossier Development CA" "Dossier Development"

sign server "/CN=localhost" "basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1"

# --- Sample clients, one per kind and several professions -----------------------------------

issue() { "$ISSUE" --dir "$dir" "$@"; }

issue --kind patient --id 1985010112345 --name "Alice Weber" --out patient-alice
issue --kind patient --id 1990020254321 --name "Bob Schmit" --out patient-bob
issue --kind professional --id gp-1001 --profession gp --org practice-kirchberg \
    --name "Dr Anne Muller" --out professional-gp
issue --kind professional --id pharm-2001 --profession pharmacist --org pharmacie-centrale \
    --name "Paul Hoffmann" --out professional-pharmacist
issue --kind professional --id nurse-3001 --profession nurse \
    --name "Claire Schmitz" --out professional-nurse
issue --kind professional --id psy-4001 --profession psychiatrist \
    --name "Dr Marc Thill" --out professional-psychiatrist
issue --kind professional --id er-5001 --profession emergency_physician --org chl \
    --name "Dr Sophie Wagner" --out professional-emergency
issue --kind professional --id lab-6001 --profession lab_biologist --org labo-ketterthill \
    --name "Dr Luc Reuter" --out professional-lab
issue --kind organisation --id chl --name "Centre Hospitalier" --out organisation-hospital
issue --kind operator --id op-1 --name "Helpdesk One" --out operator-helpdesk

# --- For tests of refusal -------------------------------------------------------------------

# A foreign CA, and a certificate from it that claims the dev GP's identity: the handshake
# must refuse it (unknown_ca), however well it follows the profile.
make_ca foreign-ca "Foreign Test CA" "Foreign Test PKI"
issue --ca foreign-ca --kind professional --id gp-1001 --profession gp --org practice-kirchberg \
    --name "Dr Anne Muller" --out foreign-gp

# Chain correctly but break the profile: connections are accepted, every call is UNAUTHENTICATED.
sign outside-profile-no-uri "/CN=Outside Profile" "basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = URI:https://example.org/not-a-dossier-identity"
sign outside-profile-no-profession "/O=practice-kirchberg/CN=Dr No Profession" \
"basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = URI:urn:dossier:professional:noprof-7001"

echo "development certificates are in $dir (keys are private: never commit them)"
