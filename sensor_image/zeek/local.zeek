##! tapcase sensor: Zeek site policy for VPC Traffic Mirroring.
##!
##! Mirrored packets arrive VXLAN-encapsulated on UDP 4789; Zeek decapsulates them and logs
##! the inner connections (with tunnel_parents pointing at the outer UDP/4789 "connection").
##! Logs are stock Zeek logs (names and fields unchanged) written as JSON, one object per
##! line, with epoch-float timestamps and Community ID on conn.log and notice.log.

# The stock site policy, minus scripts that reach out to the internet (Team Cymru MHR).
@load misc/loaded-scripts
@load tuning/defaults
@load misc/capture-loss
@load misc/stats
@load-sigs frameworks/signatures/detect-windows-shells
@load frameworks/software/vulnerable
@load frameworks/software/version-changes
@load protocols/ftp/software
@load protocols/smtp/software
@load protocols/ssh/software
@load protocols/http/software
@load protocols/dns/detect-external-names
@load protocols/ftp/detect
@load protocols/conn/known-hosts
@load protocols/conn/known-services
@load protocols/ssl/known-certs
@load protocols/ssl/validate-certs
@load protocols/ssl/log-hostcerts-only
@load protocols/ssh/detect-bruteforcing
@load protocols/ssh/interesting-hostnames
@load protocols/http/detect-sqli
@load frameworks/files/hash-all-files

# JSON logs, epoch timestamps (JSON::TS_EPOCH is the default; stated for clarity).
@load tuning/json-logs
redef LogAscii::json_timestamps = JSON::TS_EPOCH;

# Community ID: the key that joins a Suricata event to its Zeek connection.
@load protocols/conn/community-id-logging
@load frameworks/notice/community-id

# VXLAN on UDP 4789 (the Traffic Mirroring encapsulation). 4789 is Zeek's default; kept
# explicit so a change of default cannot silently stop decapsulation.
redef PacketAnalyzer::VXLAN::vxlan_ports += { 4789/udp };

# Mirrored traffic carries checksums the source NIC never filled in (offloading).
redef ignore_checksums = T;

# One set of log files per capture: the agent stops Zeek and uploads them; no rotation.
redef Log::default_rotation_interval = 0 secs;

# The VPC's private address space.
redef Site::local_nets += { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10 };
