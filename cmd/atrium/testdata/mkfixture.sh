#!/bin/bash
# Builds a store with the atrium binary $1 in data dir $2.
set -e
A="$1"; D="$2"; rm -rf "$D"; export ATRIUM_TEST_FAST_HASH=1
$A user add alice --mail alice@example.com --given Alice --sn Liddell --data $D --password-stdin <<<"alice password one" >/dev/null
$A user add bob --mail bob@example.com --name "Bob  Builder" --data $D --password-stdin <<<"bob password two" >/dev/null
$A user add carol --mail Carol@Example.com --given Carol --data $D --password-stdin <<<"carol password three" >/dev/null
$A user add dave --mail dave@example.com --data $D --password-stdin <<<"dave password four" >/dev/null
$A group add staff --description "Everyone" --data $D >/dev/null
$A group add Admins --data $D >/dev/null
$A group add-member Admins carol --data $D >/dev/null
$A group add-member staff alice bob dave group:Admins --data $D >/dev/null
$A user delete dave --data $D >/dev/null
$A user rename carol caroline --data $D >/dev/null
$A bind-account add nas --rights read,samba --data $D --password-stdin <<<"nas bind password" >/dev/null
$A app-password add alice phone --data $D >/dev/null
$A user disable bob --data $D >/dev/null
$A user list --data $D
$A group show staff --data $D
