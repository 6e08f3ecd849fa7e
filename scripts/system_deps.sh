#!/usr/bin/env bash
# System packages the test suite needs: Debian's Chromium (browser tests; Playwright's own browser
# download does not work offline), CJK fonts (Japanese in screenshots), DejaVu (the ➢ mark in generated
# PDFs) and PostgreSQL (question log).
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing+=(fonts-noto-cjk)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)  # ➢ in test PDFs
[ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "次のパッケージが必要です: ${missing[*]}(root で apt-get install してください)" >&2
  exit 1
fi
echo "システムパッケージを導入します: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
