# shellcheck shell=bash
# Shared set-up steps for scripts/run and scripts/test. Source it; every step is
# idempotent and quick on a second run.
#
#   pult_python_env     .venv + requirements.txt (reinstalled only when the file changes)
#   pult_bun            bun on PATH (npm-installed into .tools/ if missing) + Reflex env vars
#   pult_services       DATABASE_URL / REDIS_URL / S3_ENDPOINT_URL (embedded PostgreSQL / Redis /
#                       SeaweedFS if unset)
#                       and PULT_SECRET_KEY (generated once into .data/secret.key)
#   pult_services_stop  stop the embedded services this shell started (for traps)
#   pult_chromium       /usr/bin/chromium for the browser tests (apt-get as root)
#   pult_ops_tools      caddy and prometheus for the operations tests (apt-get as root; tests/ops)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PULT_VENV="$ROOT/.venv"

pult_say() { printf '==> %s\n' "$*"; }
pult_warn() { printf 'warning: %s\n' "$*" >&2; }
pult_die() { printf 'error: %s\n' "$*" >&2; return 1; }
pult_is_root() { [[ "$(id -u)" -eq 0 ]]; }

pult_python_env() {
    if [[ ! -x "$PULT_VENV/bin/python" || ! -e "$PULT_VENV/bin/pip" ]]; then
        command -v python3 >/dev/null || pult_die "python3 not found; install Python 3.11+" || return 1
        pult_say "Creating .venv"
        rm -rf "$PULT_VENV"
        if ! python3 -m venv "$PULT_VENV" >/dev/null 2>&1; then
            rm -rf "$PULT_VENV"
            if pult_is_root && command -v apt-get >/dev/null; then
                pult_say "Installing python3-venv (apt-get)"
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
                python3 -m venv "$PULT_VENV"
            else
                pult_die "python3 -m venv failed; install python3-venv (sudo apt-get install python3-venv)" || return 1
            fi
        fi
    fi
    local want have
    want="$(sha256sum "$ROOT/requirements.txt" | cut -d' ' -f1)"
    have="$(cat "$PULT_VENV/.requirements.sha256" 2>/dev/null || true)"
    if [[ "$want" != "$have" ]]; then
        pult_say "Installing Python packages from requirements.txt"
        # (the filter drops pip's notes about configured local indexes that do not exist)
        "$PULT_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements.txt" 2>&1 |
            { grep -v "^WARNING: Location '.*' is ignored: it is neither a file nor a directory" || true; }
        printf '%s\n' "$want" >"$PULT_VENV/.requirements.sha256"
    fi
    export VIRTUAL_ENV="$PULT_VENV"
    case ":$PATH:" in *":$PULT_VENV/bin:"*) ;; *) export PATH="$PULT_VENV/bin:$PATH" ;; esac
}

pult_bun() {
    export REFLEX_USE_SYSTEM_BUN=1
    export NPM_CONFIG_REGISTRY=https://registry.npmjs.org/
    export REFLEX_TELEMETRY_ENABLED=false
    if command -v bun >/dev/null && bun --version >/dev/null 2>&1; then
        return 0
    fi
    local tools="$ROOT/.tools"
    local bin="$tools/node_modules/.bin"
    if ! "$bin/bun" --version >/dev/null 2>&1; then
        command -v npm >/dev/null || pult_die "bun and npm not found; install Node.js 20+ (apt-get install nodejs npm)" || return 1
        pult_say "Installing bun into .tools/ (npm)"
        mkdir -p "$tools"
        # npm 11 runs dependency install scripts only when allowed; bun's postinstall puts
        # the real binary in place of a stub.
        [[ -f "$tools/package.json" ]] ||
            printf '{\n  "private": true,\n  "allowScripts": { "bun": true }\n}\n' >"$tools/package.json"
        npm install --prefix "$tools" --no-audit --no-fund --loglevel=error bun >/dev/null
        if ! "$bin/bun" --version >/dev/null 2>&1; then
            (cd "$tools/node_modules/bun" && node install.js >/dev/null 2>&1) || true
        fi
        if ! "$bin/bun" --version >/dev/null 2>&1; then
            # Last resort: the platform package npm installed next to it holds the binary.
            local real
            for real in "$tools"/node_modules/@oven/bun-linux-*/bin/bun "$tools"/node_modules/@oven/bun-darwin-*/bin/bun; do
                if [[ -x "$real" ]] && "$real" --version >/dev/null 2>&1; then
                    ln -sf "$real" "$bin/bun"
                    break
                fi
            done
        fi
        "$bin/bun" --version >/dev/null 2>&1 || pult_die "bun was installed into .tools but does not run" || return 1
    fi
    export PATH="$bin:$PATH"
}

pult_secret_key() {
    [[ -z "${PULT_SECRET_KEY:-}" ]] || return 0
    local key_file="$ROOT/.data/secret.key"
    mkdir -p "$ROOT/.data"
    if [[ ! -s "$key_file" ]]; then
        (   # locked: the app and worker containers may both get here first
            flock 9
            if [[ ! -s "$key_file" ]]; then
                umask 077
                "$PULT_VENV/bin/python" -c \
                    'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' >"$key_file.tmp"
                mv "$key_file.tmp" "$key_file"
                pult_say "Generated PULT_SECRET_KEY into .data/secret.key"
            fi
        ) 9>"$ROOT/.data/secret.key.lock"
    fi
    chmod 600 "$key_file"
    PULT_SECRET_KEY="$(<"$key_file")"
    export PULT_SECRET_KEY
}

pult_services() {
    pult_secret_key || return 1
    local need=()
    if [[ -z "${DATABASE_URL:-}" ]]; then need+=(postgres); fi
    if [[ -z "${REDIS_URL:-}" ]]; then need+=(redis); fi
    if [[ -z "${S3_ENDPOINT_URL:-}" ]]; then need+=(s3); fi
    if ((${#need[@]} == 0)); then
        return 0
    fi
    local exports
    # All or nothing: when one fails, services.py stops again what it started in this call (and
    # only that: a service it found running stays up for whoever else uses it), so there is no
    # owner left to stop here.
    exports="$("$PULT_VENV/bin/python" "$ROOT/scripts/services.py" start --owner "$$" "${need[@]}")" ||
        pult_die "could not start ${need[*]} (the reason is above; what this run had started is stopped again;" \
            "logs: .data/postgres/server.log, .data/redis/redis.log, .data/seaweedfs/weed.log)" || return 1
    eval "$exports"
    PULT_SERVICES_OWNER="$$"
}

pult_services_stop() {
    [[ -n "${PULT_SERVICES_OWNER:-}" ]] || return 0
    "$PULT_VENV/bin/python" "$ROOT/scripts/services.py" stop --owner "$PULT_SERVICES_OWNER" || true
    PULT_SERVICES_OWNER=""
}

pult_ops_tools() {
    local missing=()
    command -v caddy >/dev/null || missing+=(caddy)
    command -v prometheus >/dev/null || missing+=(prometheus)
    ((${#missing[@]})) || return 0
    if pult_is_root && command -v apt-get >/dev/null; then
        pult_say "Installing ${missing[*]} for the operations tests (apt-get)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
            { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
            pult_warn "apt-get install ${missing[*]} failed: tests/ops/test_proxy.py / test_prometheus.py will be skipped"
    else
        pult_warn "${missing[*]} missing, so tests/ops/test_proxy.py / test_prometheus.py are skipped (sudo apt-get install -y ${missing[*]})"
    fi
    return 0
}

pult_chromium() {
    [[ -x /usr/bin/chromium ]] && return 0
    if pult_is_root && command -v apt-get >/dev/null; then
        pult_say "Installing Chromium for the browser tests (apt-get)"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null ||
            pult_die "apt-get install chromium failed" || return 1
    else
        pult_warn "/usr/bin/chromium is missing, so the browser tests will fail."
        pult_warn "Install it as root: sudo apt-get install -y chromium"
    fi
}
