#!/usr/bin/env bash
# Issues one Dossier client certificate from a development CA, following the certificate
# profile of docs/PROTOCOL.md ("Certificate profile"):
#
#   - X.509 v3, EC P-256 key, extendedKeyUsage clientAuth, keyUsage digitalSignature;
#   - exactly one URI SAN  urn:dossier:<kind>:<id>
#       kind: patient | professional | organisation | operator
#       id:   1-64 characters of [A-Za-z0-9._-], starting with a letter or digit;
#   - subject CN = display name;
#   - subject OU = profession code (professionals only, required): [a-z0-9_]{1,32};
#   - subject O  = organisation id (optional for professionals; for an organisation it is its id).
#
# Usage:
#   certs/issue-cert.sh --kind K --id ID [--profession P] [--org O] [--name CN] [--days N]
#                       [--dir certs/dev] [--out NAME] [--ca CA_NAME] [--force]
#
# Writes DIR/NAME.pem (certificate) and DIR/NAME.key (private key, mode 600).
# NAME defaults to <kind>-<id>; the CA is DIR/CA_NAME.pem + DIR/CA_NAME.key (default "ca",
# as made by make-dev-certs.sh). Development use only: production certificates come from the
# deployment's PKI, which must follow the same profile.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR

# The grammar of the profile (keep in step with docs/PROTOCOL.md).
readonly KINDS="patient professional organisation operator"
readonly ID_RE='^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'
readonly PROFESSION_RE='^[a-z0-9_]{1,32}$'

die() { echo "issue-cert: $*" >&2; exit 2; }

# Runs a command quietly; shows what it printed only if it fails.
quiet() {
    local log
    if ! log="$("$@" 2>&1)"; then
        echo "issue-cert: failed: $*" >&2
        echo "$log" >&2
        exit 1
    fi
}

usage() {
    sed -n '/^# Usage:/,/^# Writes/p' "$0" | sed 's/^# \{0,1\}//' | sed '$d'
    exit "${1:-0}"
}

kind="" id="" profession="" org="" name="" days=730 dir="$SCRIPT_DIR/dev" out="" ca="ca" force=0

while [[ $# -gt 0 ]]; do
    case "$1" in
        --kind) kind="${2-}"; shift 2 ;;
        --id) id="${2-}"; shift 2 ;;
        --profession) profession="${2-}"; shift 2 ;;
        --org) org="${2-}"; shift 2 ;;
        --name) name="${2-}"; shift 2 ;;
        --days) days="${2-}"; shift 2 ;;
        --dir) dir="${2-}"; shift 2 ;;
        --out) out="${2-}"; shift 2 ;;
        --ca) ca="${2-}"; shift 2 ;;
        --force) force=1; shift ;;
        -h|--help) usage 0 ;;
        *) echo "issue-cert: unknown argument: $1" >&2; usage 2 ;;
    esac
done

# --- Validate the request against the profile --------------------------------------------

[[ -n "$kind" ]] || die "--kind is required (one of: $KINDS)"
[[ " $KINDS " == *" $kind "* ]] || die "unknown kind '$kind' (one of: $KINDS)"
[[ -n "$id" ]] || die "--id is required"
[[ "$id" =~ $ID_RE ]] || die "invalid id '$id': 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit"

if [[ "$kind" == professional ]]; then
    [[ -n "$profession" ]] || die "a professional certificate needs --profession (e.g. gp, nurse, pharmacist)"
    [[ "$profession" =~ $PROFESSION_RE ]] || die "invalid profession '$profession': [a-z0-9_]{1,32}"
elif [[ -n "$profession" ]]; then
    die "--profession is only for --kind professional"
fi

if [[ -n "$org" ]]; then
    [[ "$org" =~ $ID_RE ]] || die "invalid organisation id '$org': same syntax as an id"
fi
case "$kind" in
    organisation)
        # An organisation's O is its own id.
        [[ -z "$org" || "$org" == "$id" ]] || die "for an organisation, --org must equal --id (or be omitted)"
        org="$id" ;;
    patient|operator)
        [[ -z "$org" ]] || die "--org is only for professionals and organisations" ;;
esac

name="${name:-$id}"
# ub-common-name is 64 characters; control characters have no place in a display name.
(( ${#name} <= 64 )) || die "--name is longer than 64 characters"
[[ "$name" != *[[:cntrl:]]* ]] || die "--name contains control characters"
[[ "$days" =~ ^[1-9][0-9]{0,4}$ ]] || die "--days must be a positive number of days"

out="${out:-$kind-$id}"
[[ "$out" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "invalid --out name '$out'"
[[ "$ca" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "invalid --ca name '$ca'"

[[ -f "$dir/$ca.pem" && -f "$dir/$ca.key" ]] \
    || die "no CA at $dir/$ca.pem + $dir/$ca.key (run certs/make-dev-certs.sh first)"
if [[ -e "$dir/$out.pem" || -e "$dir/$out.key" ]] && (( ! force )); then
    die "$dir/$out.pem already exists (use --force to replace it)"
fi

# --- Issue ----------------------------------------------------------------------------------

command -v openssl >/dev/null || die "openssl is not installed"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# openssl -subj syntax: /TYPE=value/...; a backslash escapes / + = and itself in a value.
subj_escape() { printf '%s' "$1" | sed -e 's/[\\/+=]/\\&/g'; }
# Most significant RDN first, as usual: O, OU, CN.
subject=""
[[ -n "$org" ]] && subject+="/O=$org"
[[ -n "$profession" ]] && subject+="/OU=$profession"
subject+="/CN=$(subj_escape "$name")"

# A random positive 128-bit serial whose first byte is 0x10-0x7f, so its lower-case hex is
# always 32 digits (the form docs/PROTOCOL.md uses in the access log and for revocation).
first=$(( (0x$(openssl rand -hex 1) & 0x6f) + 0x10 ))
serial="$(printf '%02x' "$first")$(openssl rand -hex 15)"

cat > "$work/ext.cnf" <<EOF
[client]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectAltName         = URI:urn:dossier:$kind:$id
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
EOF

# Keys are created readable by their owner only.
(umask 077 && quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/key.pem")
quiet openssl req -new -utf8 -key "$work/key.pem" -subj "$subject" -out "$work/req.csr"
quiet openssl x509 -req -in "$work/req.csr" -CA "$dir/$ca.pem" -CAkey "$dir/$ca.key" \
    -set_serial "0x$serial" -days "$days" -sha256 \
    -extfile "$work/ext.cnf" -extensions client -out "$work/cert.pem"

install -m 600 "$work/key.pem" "$dir/$out.key"
install -m 644 "$work/cert.pem" "$dir/$out.pem"

echo "issued $dir/$out.pem  urn:dossier:$kind:$id  serial $serial"
