#!/bin/sh
# bitbucket-relay installer for a Bitbucket Server / Data Center host.
#
#   sudo sh install.sh --bitbucket-home /var/atlassian/application-data/bitbucket
#   sudo sh install.sh --uninstall [--purge]
#   sh install.sh --root /tmp/stage --offline        (staged tree: packaging, tests)
#
# Idempotent: running it again changes nothing, repairs what drifted, or
# upgrades the app; the queue (spool, store) and the config are always kept.
# Bitbucket's own hook files are never edited. Details: docs/install.md.

set -eu

SRC=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)

PREFIX=/opt/bitbucket-relay
BB_HOME=''
SVC_USER=atlbitbucket
NODE=''
NODE_COPY=''
ROOT=''
DRY_RUN=0
UNINSTALL=0
PURGE=0
OFFLINE=0
NO_HOOKS=0

DEFAULT_BB_HOME=/var/atlassian/application-data/bitbucket
UNIT_NAME=bitbucket-relay.service

usage() {
  cat <<EOF
usage: sh install.sh [options]

Installs bitbucket-relay: the app (production dependencies only) into the
prefix, config into /etc/bitbucket-relay (an existing relay.yaml is never
overwritten: the new default goes beside it as relay.yaml.new), the spool
/var/spool/bitbucket-relay and the queue /var/lib/bitbucket-relay, the systemd
unit, /usr/local/bin/relay, and the post-receive hook into every repository.

options:
  --bitbucket-home DIR  Bitbucket's home (holds shared/data/repositories);
                        default $DEFAULT_BB_HOME when it exists
  --user NAME           account Bitbucket runs as; the hook runs as it and so
                        does the daemon (default: atlbitbucket)
  --prefix DIR          where the app goes (default: /opt/bitbucket-relay)
  --node PATH           Node.js 24+ to run the relay with (default: node on PATH)
  --offline             copy the production dependencies from this tree's
                        node_modules instead of running npm ci (no network)
  --no-hooks            do not put the hook into the repositories (when it is
                        wired as a Bitbucket hook script or External Hooks
                        executable instead); hooks.autoInstall is then off
  --root DIR            install into DIR as if it were / (packaging, tests):
                        every path, --bitbucket-home included, is taken inside
                        it; file contents keep the target paths; no systemctl
  --dry-run             print each action, change nothing
  --uninstall           remove app, unit, /usr/local/bin/relay and the hooks;
                        keep config, spool and queue
  --purge               with --uninstall: also delete config, spool and queue
  -h, --help            this text
EOF
}

say() { printf 'install: %s\n' "$*"; }
warn() { printf 'install: warning: %s\n' "$*" >&2; }
die() { printf 'install: error: %s\n' "$*" >&2; exit 1; }

# Print one action and run it; with --dry-run only print it.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    printf 'would: %s\n' "$*"
    return 0
  fi
  printf '+ %s\n' "$*"
  "$@"
}

need_value() {
  [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value (see --help)"
}

while [ $# -gt 0 ]; do
  case $1 in
    --prefix) need_value "$@"; PREFIX=$2; shift 2 ;;
    --prefix=*) PREFIX=${1#*=}; shift ;;
    --bitbucket-home) need_value "$@"; BB_HOME=$2; shift 2 ;;
    --bitbucket-home=*) BB_HOME=${1#*=}; shift ;;
    --user) need_value "$@"; SVC_USER=$2; shift 2 ;;
    --user=*) SVC_USER=${1#*=}; shift ;;
    --node) need_value "$@"; NODE=$2; shift 2 ;;
    --node=*) NODE=${1#*=}; shift ;;
    --root) need_value "$@"; ROOT=$2; shift 2 ;;
    --root=*) ROOT=${1#*=}; shift ;;
    --offline) OFFLINE=1; shift ;;
    --no-hooks) NO_HOOKS=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    --purge) PURGE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

[ "$PURGE" = 0 ] || [ "$UNINSTALL" = 1 ] || die "--purge only goes with --uninstall"

# Paths end up in sed expressions, the unit file and YAML: keep them plain.
check_path() {
  case $2 in
    /*) ;;
    *) die "$1 must be an absolute path, not \"$2\"" ;;
  esac
  case $2 in
    *[!A-Za-z0-9/._+@:-]*) die "$1 \"$2\" holds characters this installer does not handle (spaces, quotes, |, &, \\); use a plain path" ;;
  esac
}
check_path --prefix "$PREFIX"
PREFIX=${PREFIX%/}
[ -z "$BB_HOME" ] || { check_path --bitbucket-home "$BB_HOME"; BB_HOME=${BB_HOME%/}; }
case $SVC_USER in
  ''|*[!A-Za-z0-9._-]*|-*) die "--user \"$SVC_USER\" is not a user name" ;;
esac
if [ -n "$ROOT" ]; then
  case $ROOT in /*) ;; *) ROOT=$(pwd)/$ROOT ;; esac
  check_path --root "$ROOT"
  ROOT=${ROOT%/}
  [ -n "$ROOT" ] || ROOT=''
fi

# Target paths (as on the host) and where they are written (inside --root).
R=$ROOT
ETC_DIR=/etc/bitbucket-relay
SPOOL_DIR=/var/spool/bitbucket-relay
STATE_DIR=/var/lib/bitbucket-relay
UNIT_FILE=/etc/systemd/system/$UNIT_NAME
LINK=/usr/local/bin/relay
APP=$R$PREFIX

WORK=''
STAGE=''
cleanup() {
  [ -z "$WORK" ] || rm -rf "$WORK"
  [ -z "$STAGE" ] || rm -rf "$STAGE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bitbucket-relay-install.XXXXXX")

require_root() {
  [ -n "$ROOT" ] || [ "$DRY_RUN" = 1 ] || [ "$(id -u)" = 0 ] ||
    die "run as root (sudo sh $0 ...): this writes $PREFIX, /etc, /var and the repositories' hooks; or stage a tree with --root DIR"
}

# --- Node.js and git ------------------------------------------------------------

NODE_HELP="Get Node.js 24 or newer, any of: (a) NodeSource packages (https://github.com/nodesource/distributions) or 'dnf module install nodejs:24' on RHEL-family; (b) the official tarball from https://nodejs.org/dist/latest-v24.x/ unpacked into e.g. /opt/node-v24, then --node /opt/node-v24/bin/node; (c) from npm, with any older node: 'npm install --prefix /opt/node24 node@24', then --node /opt/node24/node_modules/node/bin/node (after 'npm ci' in this tree it is at node_modules/node/bin/node too). It need not be the system's default node; a node under /tmp, /home or a checkout is copied into the prefix."

check_node() {
  if [ -z "$NODE" ]; then
    NODE=$(command -v node 2>/dev/null || true)
    [ -n "$NODE" ] || die "Node.js 24 or newer is required and there is no node on PATH. $NODE_HELP"
  fi
  case $NODE in
    */*) ;;
    *) NODE=$(command -v "$NODE" 2>/dev/null || true); [ -n "$NODE" ] || die "--node: no such command. $NODE_HELP" ;;
  esac
  case $NODE in /*) ;; *) NODE=$(pwd)/$NODE ;; esac
  [ -f "$NODE" ] && [ -x "$NODE" ] || die "$NODE is not an executable file. $NODE_HELP"
  case $NODE in *[!A-Za-z0-9/._+@:-]*) die "the node path \"$NODE\" holds characters this installer does not handle; pass --node with a plain path" ;; esac
  node_version=$("$NODE" --version 2>/dev/null || true)
  node_major=${node_version#v}
  node_major=${node_major%%.*}
  case $node_major in
    ''|*[!0-9]*) die "cannot tell the version of $NODE ('$NODE --version' printed \"$node_version\"). $NODE_HELP" ;;
  esac
  [ "$node_major" -ge 24 ] || die "Node.js 24 or newer is required; $NODE is $node_version. $NODE_HELP"
  say "node: $NODE ($node_version)"
  NODE_COPY=''
  node_real=$(readlink -f -- "$NODE" 2>/dev/null || printf '%s' "$NODE")
  if node_reason=$(node_unreliable "$node_real"); then
    NODE_COPY=$node_real
    say "node: $node_real is $node_reason: the service may not see it (the unit has PrivateTmp=yes, ProtectHome) or it may be deleted later; copying it into $PREFIX/node/bin/node"
  fi
}

# node_unreliable PATH: prints why PATH is no place for the service's Node.js
# (temporary, a home, a checkout, an npm tree) and succeeds; fails for a place
# that stays (/usr/bin/node, /opt/node-v24/bin/node).
node_unreliable() {
  case $1 in
    */node_modules/*) echo "inside an npm tree (node_modules)"; return 0 ;;
  esac
  d=$(dirname -- "$1")
  while [ "$d" != / ] && [ -n "$d" ]; do
    [ ! -e "$d/.git" ] || { echo "inside the git checkout $d"; return 0; }
    d=$(dirname -- "$d")
  done
  case $1 in
    /tmp/*|/var/tmp/*|/dev/shm/*) echo "under a temporary directory"; return 0 ;;
    /home/*|/root/*|/run/user/*) echo "under a home directory"; return 0 ;;
  esac
  return 1
}

check_git() {
  git_path=$(command -v git 2>/dev/null || true)
  [ -n "$git_path" ] || die "git is required (the relay reads every push with it) and is not on PATH. Install it (apt-get install git / dnf install git), or put the git Bitbucket uses (see Administration > Server settings) on PATH."
  say "git: $git_path ($(git --version 2>/dev/null || echo 'unknown version'))"
}

# --- owner --------------------------------------------------------------------

SVC_UID=''
SVC_GID=''
resolve_owner() {
  if [ -n "$ROOT" ]; then
    entry=$(grep "^$SVC_USER:" "$R/etc/passwd" 2>/dev/null | head -n 1 || true)
    if [ -n "$entry" ]; then
      SVC_UID=$(printf '%s\n' "$entry" | cut -d: -f3)
      SVC_GID=$(printf '%s\n' "$entry" | cut -d: -f4)
      say "user: $SVC_USER ($SVC_UID:$SVC_GID from $R/etc/passwd)"
    else
      warn "user $SVC_USER does not exist under $ROOT (no entry in $R/etc/passwd): skipping chown; whoever deploys this tree must give $SPOOL_DIR and $STATE_DIR to the Bitbucket user"
    fi
  elif id -u "$SVC_USER" >/dev/null 2>&1; then
    SVC_UID=$(id -u "$SVC_USER")
    SVC_GID=$(id -g "$SVC_USER")
    say "user: $SVC_USER ($SVC_UID:$SVC_GID)"
  elif [ "$DRY_RUN" = 1 ]; then
    warn "user $SVC_USER does not exist; a real run would stop here (pass --user with the account Bitbucket runs as)"
  else
    die "user $SVC_USER does not exist. Pass --user with the account Bitbucket runs as (the owner of the Bitbucket java process: ps -o user= -C java)"
  fi
}

# chown argument for "owned by the service user", or empty when unknown.
svc_owner() { [ -z "$SVC_UID" ] || printf '%s:%s' "$SVC_UID" "$SVC_GID"; }
# root-owned, readable by the service user's group.
root_group_owner() { [ -z "$SVC_GID" ] || printf '0:%s' "$SVC_GID"; }

# --- file-system helpers -------------------------------------------------------

# ensure_dir PATH MODE [UID:GID]: create, then fix mode and owner if they differ.
ensure_dir() {
  d=$1 mode=$2 owner=${3-}
  if [ ! -d "$d" ]; then
    run mkdir -p "$d"
    if [ "$DRY_RUN" = 1 ]; then
      run chmod "$mode" "$d"
      [ -z "$owner" ] || run chown "$owner" "$d"
      return 0
    fi
  fi
  [ "$(stat -c '%a' "$d")" = "$mode" ] || run chmod "$mode" "$d"
  [ -z "$owner" ] || [ "$(stat -c '%u:%g' "$d")" = "$owner" ] || run chown "$owner" "$d"
}

# put_file CONTENT DEST MODE [UID:GID]: write atomically (temp + rename).
put_file() {
  if [ "$DRY_RUN" = 1 ]; then
    printf 'would: write %s (mode %s%s)\n' "$2" "$3" "${4:+, owner $4}"
    return 0
  fi
  run cp "$1" "$2.tmp.$$"
  run chmod "$3" "$2.tmp.$$"
  [ -z "${4-}" ] || run chown "$4" "$2.tmp.$$"
  run mv -f "$2.tmp.$$" "$2"
}

# install_keep CONTENT DEST MODE [UID:GID]: install a config file unless the
# operator's own version is there; then put the new default beside it (.new),
# but only when the shipped default changed since the last install: its
# checksum is kept in DIR/.NAME.shipped, so re-running the installer over an
# edited config writes nothing.
install_keep() {
  shipped_record=$(dirname "$2")/.$(basename "$2").shipped
  shipped_sum=$(cksum < "$1")
  if [ ! -e "$2" ]; then
    put_file "$@"
  elif cmp -s "$1" "$2"; then
    say "$2: up to date"
  elif [ -e "$2.new" ] && cmp -s "$1" "$2.new"; then
    say "$2: kept yours; the shipped default is in $2.new"
  elif [ -f "$shipped_record" ] && [ "$(cat "$shipped_record")" = "$shipped_sum" ]; then
    say "$2: kept yours (the shipped default has not changed since the last install)"
  else
    put_file "$1" "$2.new" "$3" "${4-}"
    say "$2: kept yours; wrote the shipped default beside it: diff $2 $2.new"
  fi
  if [ "$DRY_RUN" = 0 ] && { [ ! -f "$shipped_record" ] || [ "$(cat "$shipped_record")" != "$shipped_sum" ]; }; then
    printf '%s\n' "$shipped_sum" > "$shipped_record"
    chmod 644 "$shipped_record"
  fi
}

fs_type() { stat -f -c %T "$1" 2>/dev/null || echo unknown; }

# --- Bitbucket home -----------------------------------------------------------

detect_bitbucket_home() {
  if [ -n "$BB_HOME" ]; then
    [ -d "$R$BB_HOME/shared/data/repositories" ] ||
      die "--bitbucket-home $BB_HOME: $R$BB_HOME/shared/data/repositories does not exist; pass Bitbucket's home directory (BITBUCKET_HOME, e.g. $DEFAULT_BB_HOME)"
  elif [ -d "$R$DEFAULT_BB_HOME/shared/data/repositories" ]; then
    BB_HOME=$DEFAULT_BB_HOME
    say "Bitbucket home: $BB_HOME (found; pass --bitbucket-home to choose another)"
  fi
}

# ==============================================================================
# install
# ==============================================================================

APP_CHANGED=0
UNIT_CHANGED=0

pkg_version() { sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$1" 2>/dev/null | head -n 1; }

# Copy production dependencies (package-lock.json entries not marked dev) from
# this tree's node_modules, each package without its nested node_modules
# (nested packages have entries of their own).
copy_production_deps() {
  [ -d "$SRC/node_modules" ] ||
    die "--offline copies the production dependencies from $SRC/node_modules, which does not exist; run 'npm ci' there first, or drop --offline"
  "$NODE" -e '
    const fs = require("node:fs"), path = require("node:path");
    const [src, dest] = process.argv.slice(1);
    const lock = JSON.parse(fs.readFileSync(path.join(src, "package-lock.json"), "utf8"));
    let copied = 0;
    for (const [key, meta] of Object.entries(lock.packages ?? {})) {
      if (!key.startsWith("node_modules/") || meta.dev || meta.link) continue;
      const from = path.join(src, key);
      if (!fs.existsSync(from)) {
        if (meta.optional) continue;
        console.error(`install: error: ${from} is missing; run npm ci in ${src}`);
        process.exit(1);
      }
      const nested = path.join(from, "node_modules");
      fs.cpSync(from, path.join(dest, key), { recursive: true, filter: (p) => p !== nested && !p.startsWith(nested + path.sep) });
      copied++;
    }
    console.log(`+ copied ${copied} production packages from ${src}/node_modules`);
  ' "$SRC" "$1"
}

npm_production_deps() {
  npm_bin=$(dirname "$NODE")/npm
  [ -x "$npm_bin" ] || npm_bin=$(command -v npm 2>/dev/null || true)
  [ -n "$npm_bin" ] || die "npm not found next to $NODE or on PATH; install npm, or run from a tree with node_modules and pass --offline"
  printf '+ %s\n' "npm ci --omit=dev (in $1)"
  (cd "$1" && PATH="$(dirname "$NODE"):$PATH" "$npm_bin" ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error) ||
    die "npm ci --omit=dev failed in $1 (no access to the npm registry?); on hosts without it, run this installer from a tree that has node_modules and pass --offline"
}

# compile_app STAGE: compile src/ to STAGE/dist with the TypeScript compiler of
# the source tree, when it has one (after `npm ci` there). The daemon then runs
# plain JS: about 30 MB less memory than Node stripping types at load time
# (idle daemon 94.8 MB vs 123.1 MB, test/bench/runtime.bench.ts). dist/RELEASE marks a complete
# build; bin/relay.js uses dist/ only then. Without a compiler the relay runs
# its TypeScript sources, which works the same.
compile_app() {
  tsc_js="$SRC/node_modules/typescript/bin/tsc"
  if [ ! -f "$tsc_js" ]; then
    say "app: no TypeScript compiler in $SRC/node_modules; the relay will run its TypeScript sources (about 30 MB more memory; run 'npm ci' in $SRC and install again to compile)"
    return 0
  fi
  printf '+ %s\n' "compile src/ to $1/dist"
  # NODE_OPTIONS of the caller (loaders, hooks) has no business in the compiler.
  if NODE_OPTIONS= "$NODE" "$tsc_js" -p "$SRC/tsconfig.json" --outDir "$1/dist" >"$1/.tsc.log" 2>&1; then
    printf '%s\n' "$(pkg_version "$SRC/package.json")" > "$1/dist/RELEASE"
    rm -f "$1/.tsc.log"
  else
    warn "compiling src/ failed (the relay will run its TypeScript sources instead): $(head -c 2000 "$1/.tsc.log")"
    rm -rf "$1/dist" "$1/.tsc.log"
  fi
}

write_wrapper() {
  cat > "$1" <<EOF
#!/bin/sh
# relay: written by install.sh. Runs the relay with the Node.js 24+ found at
# install time (the system's default node may be older).
APP='$PREFIX'
if [ ! -f "\$APP/bin/relay.js" ]; then
  # A staged (--root) or moved tree: use the tree this wrapper is in.
  APP=\$(CDPATH='' cd -- "\$(dirname -- "\$(readlink -f -- "\$0")")/.." && pwd)
fi
$(if [ -n "$NODE_COPY" ]; then
  printf '%s\n' "# The Node.js runtime install.sh copied into the app from $NODE_COPY." 'NODE="$APP/node/bin/node"'
else
  printf "NODE='%s'\n" "$NODE"
fi)
exec "\$NODE" "\$APP/bin/relay.js" "\$@"
EOF
}

# The dependency set is stamped (node_modules/.bitbucket-relay-deps = sha256
# of package-lock.json): an upgrade that changes only code reuses the
# installed dependencies (hard links, no network, no re-copy).
DEPS_STAMP=.bitbucket-relay-deps

# deps_current APP: true when APP/node_modules matches this release's lock and
# holds every production package.
deps_current() {
  [ -d "$1/node_modules" ] || return 1
  "$NODE" -e '
    const fs = require("node:fs"), path = require("node:path"), crypto = require("node:crypto");
    const [app, lockFile, stampName] = process.argv.slice(1);
    const lockText = fs.readFileSync(lockFile);
    let stamp = "";
    try { stamp = fs.readFileSync(path.join(app, "node_modules", stampName), "utf8").trim(); } catch {}
    if (stamp !== crypto.createHash("sha256").update(lockText).digest("hex")) process.exit(1);
    for (const [key, meta] of Object.entries(JSON.parse(lockText).packages ?? {})) {
      if (!key.startsWith("node_modules/") || meta.dev || meta.link || meta.optional) continue;
      if (!fs.existsSync(path.join(app, key, "package.json"))) process.exit(1);
    }
  ' "$1" "$SRC/package-lock.json" "$DEPS_STAMP"
}

write_deps_stamp() {
  "$NODE" -e '
    const fs = require("node:fs"), crypto = require("node:crypto");
    const [lockFile, out] = process.argv.slice(1);
    fs.writeFileSync(out, crypto.createHash("sha256").update(fs.readFileSync(lockFile)).digest("hex") + "\n");
  ' "$SRC/package-lock.json" "$1/node_modules/$DEPS_STAMP"
}

install_app() {
  version=$(pkg_version "$SRC/package.json")
  old=$(pkg_version "$APP/package.json")
  deps_how='npm ci --omit=dev'
  [ "$OFFLINE" = 0 ] || deps_how="copy production dependencies from $SRC/node_modules"
  deps_reuse=0
  if deps_current "$APP"; then
    deps_reuse=1
    deps_how="keep the installed dependencies (same package-lock.json)"
  fi
  if [ "$DRY_RUN" = 1 ]; then
    printf 'would: %s\n' "install bitbucket-relay $version into $APP${old:+ (now $old)} if it differs: package.json, package-lock.json, install.sh, bin/, src/ (compiled to dist/ when $SRC has the TypeScript compiler), hooks/, config/, docs/; $deps_how; bin/relay wrapper for ${NODE_COPY:+a copy in $PREFIX/node/bin/node of }$NODE"
    return 0
  fi
  parent=$(dirname "$APP")
  [ -d "$parent" ] || run mkdir -p "$parent"
  STAGE=$APP.new.$$
  rm -rf "$STAGE"
  mkdir -p "$STAGE"
  printf '+ %s\n' "stage bitbucket-relay $version in $STAGE"
  for f in package.json package-lock.json install.sh; do cp "$SRC/$f" "$STAGE/"; done
  for d in bin src hooks config docs; do
    # -L: the app holds files, never links back into the tree it came from.
    [ ! -d "$SRC/$d" ] || cp -RL "$SRC/$d" "$STAGE/"
  done
  compile_app "$STAGE"
  if [ -n "$NODE_COPY" ]; then
    mkdir -p "$STAGE/node/bin"
    # A hard link when on the same file system: the copy survives the
    # original being deleted or replaced, at no cost.
    ln "$NODE_COPY" "$STAGE/node/bin/node" 2>/dev/null || cp "$NODE_COPY" "$STAGE/node/bin/node"
  fi
  write_wrapper "$STAGE/bin/relay"
  chmod -R u=rwX,go=rX "$STAGE"
  [ -z "$NODE_COPY" ] || chmod 755 "$STAGE/node/bin/node"
  chmod 755 "$STAGE/bin/relay" "$STAGE/bin/relay.js" "$STAGE/hooks/post-receive" "$STAGE/install.sh"
  if [ "$deps_reuse" = 1 ] && diff -r -x node_modules "$APP" "$STAGE" >/dev/null 2>&1; then
    rm -rf "$STAGE"
    STAGE=''
    say "app: $APP is up to date (bitbucket-relay $version)"
    return 0
  fi
  if [ "$deps_reuse" = 1 ]; then
    printf '+ %s\n' "reuse the installed dependencies (same package-lock.json)"
    cp -al "$APP/node_modules" "$STAGE/node_modules"
  else
    if [ "$OFFLINE" = 1 ]; then copy_production_deps "$STAGE"; else npm_production_deps "$STAGE"; fi
    write_deps_stamp "$STAGE"
    chmod -R u=rwX,go=rX "$STAGE/node_modules"
  fi
  if [ -d "$APP" ]; then
    say "app: replacing ${old:-unknown version} in $APP with $version"
    run mv "$APP" "$APP.old.$$"
    run mv "$STAGE" "$APP"
    run rm -rf "$APP.old.$$"
  else
    run mv "$STAGE" "$APP"
  fi
  STAGE=''
  APP_CHANGED=1
}

render_config() {
  {
    echo '# bitbucket-relay configuration, written by install.sh.'
    echo "# Every key is explained in $PREFIX/config/relay.example.yaml."
    echo '# After editing: systemctl reload bitbucket-relay'
    echo ''
    echo 'spool:'
    echo "  dir: $SPOOL_DIR"
    echo 'store:'
    echo "  path: $STATE_DIR/relay.db"
    echo 'admin:'
    echo '  socket: /run/bitbucket-relay/relay.sock'
    if [ -n "$BB_HOME" ]; then
      echo 'bitbucket:'
      echo "  home: $BB_HOME"
      echo '  # baseUrl: https://bitbucket.example.com   # for links when BB_BASE_URL is not passed'
      echo 'hooks:'
      if [ "$NO_HOOKS" = 1 ]; then
        echo '  # install.sh --no-hooks: the hook is wired through Bitbucket instead.'
        echo '  autoInstall: false'
      else
        echo '  # Put the hook into every repository Bitbucket creates from now on.'
        echo '  autoInstall: true'
      fi
    fi
    echo ''
    echo 'destinations:'
    echo '  # Every event goes to the journal until you add your receivers, e.g.'
    echo '  #   - name: tracker'
    echo '  #     type: http'
    echo '  #     url: https://tracker.example.com/hooks/bitbucket'
    echo '  #     format: bitbucket-server'
    echo '  #     secretFile: /etc/bitbucket-relay/tracker.secret'
    echo '  - name: journal'
    echo '    type: log'
  } > "$1"
}

render_hook_env() {
  {
    echo '# Read (never sourced) by the post-receive hook; written by install.sh.'
    echo "# Must match spool.dir in $ETC_DIR/relay.yaml."
    echo "RELAY_SPOOL_DIR=$SPOOL_DIR"
  } > "$1"
}

protect_home_value() {
  svc_node=$NODE
  [ -z "$NODE_COPY" ] || svc_node=$PREFIX/node/bin/node
  for p in "$BB_HOME" "$svc_node" "$PREFIX"; do
    case $p in
      /home/*|/root/*|/run/user/*) echo read-only; return 0 ;;
    esac
  done
  echo yes
}

render_unit() {
  protect_home=$(protect_home_value)
  [ "$protect_home" = yes ] || say "unit: ProtectHome=read-only, because the Bitbucket home, Node.js or the prefix is under /home or /root"
  rw_repos='s|^$||'
  [ -z "$BB_HOME" ] || [ "$NO_HOOKS" = 1 ] || rw_repos="s|^#ReadWritePaths=-.*/shared/data/repositories\$|ReadWritePaths=-$BB_HOME/shared/data/repositories|"
  sed -e "s|^User=.*|User=$SVC_USER|" \
      -e "s|/opt/bitbucket-relay|$PREFIX|g" \
      -e "s|^ProtectHome=.*|ProtectHome=$protect_home|" \
      -e "$rw_repos" \
      "$SRC/config/bitbucket-relay.service" > "$1"
}

install_unit() {
  render_unit "$WORK/unit"
  if [ -f "$R$UNIT_FILE" ] && cmp -s "$WORK/unit" "$R$UNIT_FILE"; then
    say "$R$UNIT_FILE: up to date"
  else
    [ -d "$R/etc/systemd/system" ] || run mkdir -p "$R/etc/systemd/system"
    put_file "$WORK/unit" "$R$UNIT_FILE" 644
    UNIT_CHANGED=1
  fi
}

install_link() {
  target=$PREFIX/bin/relay
  if [ -L "$R$LINK" ]; then
    [ "$(readlink "$R$LINK")" = "$target" ] && return 0
    run ln -sfn "$target" "$R$LINK"
  elif [ -e "$R$LINK" ]; then
    warn "$R$LINK exists and is not a symlink: left alone; the relay command is $target"
  else
    [ -d "$R$(dirname "$LINK")" ] || run mkdir -p "$R$(dirname "$LINK")"
    run ln -s "$target" "$R$LINK"
  fi
}

install_hooks() {
  if [ "$NO_HOOKS" = 1 ]; then
    say "--no-hooks: the hook is not put into the repositories; wire $PREFIX/hooks/post-receive as a Bitbucket hook script or External Hooks executable (docs/install.md)"
    return 0
  fi
  if [ -z "$BB_HOME" ]; then
    warn "no Bitbucket home (--bitbucket-home): the hook is not installed in any repository; later run: relay hooks install --bitbucket-home DIR"
    return 0
  fi
  if [ "$DRY_RUN" = 1 ]; then
    printf 'would: %s\n' "relay hooks install --bitbucket-home $R$BB_HOME"
    if [ -d "$SRC/node_modules" ]; then
      "$NODE" "$SRC/bin/relay.js" hooks install --dry-run --bitbucket-home "$R$BB_HOME" --hook "$SRC/hooks/post-receive" | sed 's/^/  /' || true
    fi
    return 0
  fi
  printf '+ %s\n' "relay hooks install --bitbucket-home $R$BB_HOME"
  rc=0
  "$NODE" "$APP/bin/relay.js" hooks install --bitbucket-home "$R$BB_HOME" --hook "$APP/hooks/post-receive" || rc=$?
  case $rc in
    0) ;;
    1) warn "some repositories need attention (listed above); the others have the hook" ;;
    *) die "relay hooks install failed (exit $rc)" ;;
  esac
}

start_service() {
  if [ -n "$ROOT" ]; then
    say "--root: not calling systemctl; on the target host run: systemctl daemon-reload && systemctl enable --now $UNIT_NAME"
    return 0
  fi
  if [ ! -d /run/systemd/system ] || ! command -v systemctl >/dev/null 2>&1; then
    warn "systemd is not running here: start the daemon yourself, as $SVC_USER: $PREFIX/bin/relay daemon --config $ETC_DIR/relay.yaml"
    return 0
  fi
  [ "$UNIT_CHANGED" = 0 ] || run systemctl daemon-reload
  run systemctl enable --quiet "$UNIT_NAME"
  if [ "$APP_CHANGED" = 1 ] || [ "$UNIT_CHANGED" = 1 ]; then
    run systemctl restart "$UNIT_NAME"
  else
    run systemctl start "$UNIT_NAME"
  fi
}

main_install() {
  require_root
  check_node
  check_git
  resolve_owner
  detect_bitbucket_home
  [ -z "$ROOT" ] || [ -d "$ROOT" ] || run mkdir -p "$ROOT"

  install_app

  svc=$(svc_owner)
  ensure_dir "$R$ETC_DIR" 750 "$(root_group_owner)"
  render_config "$WORK/relay.yaml"
  install_keep "$WORK/relay.yaml" "$R$ETC_DIR/relay.yaml" 640 "$(root_group_owner)"
  render_hook_env "$WORK/hook.env"
  install_keep "$WORK/hook.env" "$R$ETC_DIR/hook.env" 644

  # The hook runs as the Bitbucket user: it must create files in incoming/.
  ensure_dir "$R$SPOOL_DIR" 2770 "$svc"
  ensure_dir "$R$SPOOL_DIR/incoming" 2770 "$svc"
  ensure_dir "$R$SPOOL_DIR/quarantine" 2770 "$svc"
  ensure_dir "$R$STATE_DIR" 700 "$svc"
  for d in "$R$SPOOL_DIR" "$R$STATE_DIR"; do
    [ -d "$d" ] || continue
    case $(fs_type "$d") in
      nfs*|cifs|smb*|fuse*|ceph|glusterfs|lustre|gpfs|afs|9p)
        warn "$d is on a network filesystem ($(fs_type "$d")); the daemon will refuse to start: put it on node-local disk" ;;
    esac
  done

  install_unit
  install_link
  install_hooks
  start_service

  if [ "$DRY_RUN" = 1 ]; then
    say "dry run: nothing was changed"
  else
    say "done: bitbucket-relay $(pkg_version "$APP/package.json") in $APP"
    say "  config: $ETC_DIR/relay.yaml (add your destinations, then: systemctl reload bitbucket-relay)"
    say "  logs:   journalctl -u bitbucket-relay -f"
    [ -z "$BB_HOME" ] || [ "$NO_HOOKS" = 1 ] || say "  hooks:  relay hooks verify --bitbucket-home $BB_HOME"
  fi
}

# ==============================================================================
# uninstall
# ==============================================================================

main_uninstall() {
  require_root
  if [ -z "$BB_HOME" ] && [ -f "$R$ETC_DIR/relay.yaml" ]; then
    BB_HOME=$(sed -n 's/^  home: *\([^ #]*\).*/\1/p' "$R$ETC_DIR/relay.yaml" | head -n 1)
    [ -z "$BB_HOME" ] || say "Bitbucket home: $BB_HOME (from $ETC_DIR/relay.yaml)"
  fi
  [ -n "$BB_HOME" ] || detect_bitbucket_home

  if [ -z "$ROOT" ] && [ -f "$UNIT_FILE" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    run systemctl disable --now --quiet "$UNIT_NAME"
  fi

  # Our file only; plain sh, so it works even when Node.js is already gone.
  if [ -n "$BB_HOME" ] && [ -d "$R$BB_HOME/shared/data/repositories" ]; then
    removed=0
    for hook in "$R$BB_HOME"/shared/data/repositories/*/hooks/post-receive.d/90_bitbucket_relay; do
      [ -f "$hook" ] || continue
      if [ "$DRY_RUN" = 1 ]; then printf 'would: rm %s\n' "$hook"; else rm -f "$hook"; fi
      removed=$((removed + 1))
    done
    say "hooks: $([ "$DRY_RUN" = 1 ] && echo 'would remove' || echo 'removed') the hook from $removed repositories"
  elif [ -n "$BB_HOME" ]; then
    warn "Bitbucket home $BB_HOME: $R$BB_HOME/shared/data/repositories does not exist: hooks not removed; pass --bitbucket-home with the right one, or remove hooks/post-receive.d/90_bitbucket_relay from each repository"
  else
    warn "Bitbucket home unknown: hooks not removed; pass --bitbucket-home, or remove hooks/post-receive.d/90_bitbucket_relay from each repository"
  fi

  if [ -f "$R$UNIT_FILE" ]; then
    run rm -f "$R$UNIT_FILE"
    if [ -z "$ROOT" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then run systemctl daemon-reload; fi
  fi
  if [ -L "$R$LINK" ] && [ "$(readlink "$R$LINK")" = "$PREFIX/bin/relay" ]; then run rm -f "$R$LINK"; fi
  [ ! -d "$APP" ] || run rm -rf "$APP"

  if [ "$PURGE" = 1 ]; then
    if [ -d "$R$SPOOL_DIR/incoming" ]; then
      pending=$(find "$R$SPOOL_DIR/incoming" -type f | wc -l | tr -d ' ')
      [ "$pending" = 0 ] || warn "--purge discards $pending spool records that were never relayed"
    fi
    for p in "$R$ETC_DIR" "$R$SPOOL_DIR" "$R$STATE_DIR" "$R/etc/logrotate.d/bitbucket-relay" "$R/var/log/bitbucket-relay"; do
      [ ! -e "$p" ] || run rm -rf "$p"
    done
  else
    say "kept: $ETC_DIR (config), $SPOOL_DIR (spool), $STATE_DIR (queue); delete them with --uninstall --purge"
  fi
  if [ "$DRY_RUN" = 1 ]; then say "dry run: nothing was changed"; else say "uninstalled"; fi
}

if [ "$UNINSTALL" = 1 ]; then main_uninstall; else main_install; fi
