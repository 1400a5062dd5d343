#!/bin/sh
# Creates the demo town's accounts (password: <name>-demo), then runs Prosody.
set -eu
for u in streife1 streife2 anna ben carla dora emil frieda greta; do
	prosodyctl --config /etc/prosody/prosody.cfg.lua register "$u" stadt.localhost "$u-demo" 2>/dev/null || true
done
exec prosody --config /etc/prosody/prosody.cfg.lua -F
