-- Prosody for compose.yaml: the demo town (users on stadt.localhost, team
-- rooms on conference.stadt.localhost, fieldgate's component
-- reports.stadt.localhost). DEMO ONLY: plaintext logins without TLS and
-- demo passwords. Production: deploy/prosody.cfg.lua.snippet.
daemonize = false
pidfile = "/var/run/prosody/prosody.pid"
data_path = "/var/lib/prosody"
log = { { levels = { min = "info" }, to = "console" } }

interfaces = { "*" }
c2s_ports = { 5222 }
component_ports = { 5347 }
component_interfaces = { "*" }
http_ports = { 5280 }
http_interfaces = { "*" }
https_ports = { }
http_default_host = "upload.stadt.localhost"

c2s_require_encryption = false
allow_unencrypted_plain_auth = true
modules_enabled = {
	"roster"; "saslauth"; "tls"; "disco"; "carbons"; "pep"; "private";
	"blocklist"; "vcard4"; "vcard_legacy"; "bookmarks"; "mam"; "ping";
	"time"; "version"; "uptime"; "csi_simple"; "smacks";
}
modules_disabled = { "s2s" }
allow_registration = false
default_archive_policy = true
archive_expires_after = "1w"

VirtualHost "stadt.localhost"
	authentication = "internal_hashed"

Component "conference.stadt.localhost" "muc"
	modules_enabled = { "muc_mam" }
	admins = { "reports.stadt.localhost" }
	restrict_room_creation = "admin"
	muc_room_locking = false
	muc_room_default_public_jids = true
	muc_room_default_persistent = true
	muc_room_default_members_only = true
	muc_room_default_public = false

Component "upload.stadt.localhost" "http_file_share"
	http_external_url = "http://prosody:5280/"
	http_file_share_size_limit = 20 * 1024 * 1024

Component "reports.stadt.localhost"
	component_secret = os.getenv("COMPONENT_SECRET")
