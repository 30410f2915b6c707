#!/bin/sh
# Fails when po/vi.po lacks a translation for any string in the sources.
set -eu
podir=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$podir/.."
xgettext --files-from=po/POTFILES.in --from-code=UTF-8 -k_ -kN_ -kC_:1c,2 \
  -kNC_:1c,2 -kngettext:1,2 -kg_dngettext:2,3 --add-comments=Translators \
  -o "$tmp/dothi.pot"
msgmerge -q po/vi.po "$tmp/dothi.pot" -o "$tmp/vi.po"
stats=$(msgfmt --check --statistics -o /dev/null "$tmp/vi.po" 2>&1)
echo "$stats"
case "$stats" in
  *untranslated*|*fuzzy*) exit 1 ;;
esac
