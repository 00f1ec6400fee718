#!/usr/bin/env bash
# Install the Debian packages facegate's tests need, when missing. Idempotent; silent when all
# are there. Runs apt-get as root, or through sudo (without a password prompt) when not root.
# Add a package to PACKAGES to need it (e.g. chromium for browser tests).
set -euo pipefail

PACKAGES=(
  mosquitto # MQTT broker for tests/test_mqtt.py
  chromium  # headless browser for tests/test_dashboard_browser.py
  espeak-ng # synthesised words for `facegate train-trigger` (tests/test_trigger_train.py)
  flite     # more synthesised voices for `facegate train-trigger`
  libportaudio2 # the microphone for `facegate listen --source MIC` (sounddevice)
)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

skip() {
  echo "system-deps: $1; install ${missing[*]} yourself (tests that need them are skipped)" >&2
  exit 0
}
command -v apt-get >/dev/null 2>&1 || skip "no apt-get here"
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  skip "not root and no password-less sudo"
fi

echo "system-deps: installing ${missing[*]}" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$log" 2>&1 ||
  ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
  cat "$log" >&2
  echo "system-deps: apt-get failed (output above)" >&2
  exit 1
fi
