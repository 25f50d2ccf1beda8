#!/bin/bash
# Moves the steps finished in a hard-linked copy ($SRC, default runs/celeba-966-b) into runs/celeba-966.
# ONLY=privacy: only the privacy steps, replacing main's (the two-attacker pass).
set -e
cd /work/main
A=runs/celeba-966/steps; SRC=${SRC:-runs/celeba-966-b}; B=$SRC/steps
for m in $B/*.done.json; do
  id=$(basename $m .done.json)
  if [ "${ONLY:-}" = privacy ]; then [[ "$id" == privacy-* ]] || continue
  else
    [ -e $A/$id.done.json ] && continue
    case "$id" in privacy-*|fr-*|verify-*|facemae-*|mae-noirm|noise-*|blur-*|pixelate-*|mask-*) ;; *) continue;; esac
  fi
  rm -rf $A/$id; cp -al $B/$id $A/$id
  sed "s|/$SRC/|/runs/celeba-966/|g" $m > $A/$id.done.json.tmp && mv $A/$id.done.json.tmp $A/$id.done.json
  echo "merged $id from $SRC"
done
