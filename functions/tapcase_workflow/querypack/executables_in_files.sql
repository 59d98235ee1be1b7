-- name: executables_in_files
-- title: Executables and scripts transferred
-- description: Files whose MIME type, libmagic description or file name says executable or
--   script (PE, ELF, Mach-O, JAR/APK, shell, PowerShell, batch, VBScript, HTA...), with sender,
--   receiver, protocol and hashes to look up. Zeek files.log; Suricata fileinfo events when Zeek
--   logged no files.
-- tables: zeek_files, suricata_eve
WITH files AS (
    SELECT f.ts, f.fuid AS file_id,
           CASE WHEN f.is_orig THEN COALESCE(f.id_orig_h, element_at(f.tx_hosts, 1))
                ELSE COALESCE(f.id_resp_h, element_at(f.tx_hosts, 1)) END AS sender,
           CASE WHEN f.is_orig THEN COALESCE(f.id_resp_h, element_at(f.rx_hosts, 1))
                ELSE COALESCE(f.id_orig_h, element_at(f.rx_hosts, 1)) END AS receiver,
           f.source AS protocol, f.mime_type AS file_type, f.filename,
           COALESCE(f.total_bytes, f.seen_bytes) AS size, f.md5, f.sha1, f.sha256
    FROM {{database}}.zeek_files f
    WHERE f.investigation_id = '{{investigation_id}}'
    UNION ALL
    SELECT e.ts, CAST(e.fileinfo.file_id AS varchar), e.src_ip, e.dest_ip, upper(e.app_proto),
           e.fileinfo.magic, e.fileinfo.filename, e.fileinfo.size,
           e.fileinfo.md5, e.fileinfo.sha1, e.fileinfo.sha256
    FROM {{database}}.suricata_eve e
    WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'fileinfo'
      AND NOT EXISTS (SELECT 1 FROM {{database}}.zeek_files z WHERE z.investigation_id = '{{investigation_id}}')
)
SELECT ts,
       sender,
       receiver,
       protocol,
       file_type,
       filename,
       size,
       md5,
       sha1,
       sha256,
       file_id
FROM files
WHERE lower(file_type) IN (
          'application/x-dosexec', 'application/x-msdownload', 'application/vnd.microsoft.portable-executable',
          'application/x-executable', 'application/x-elf', 'application/x-sharedlib', 'application/x-pie-executable',
          'application/x-mach-o-executable', 'application/x-java-archive', 'application/java-archive',
          'application/vnd.android.package-archive', 'application/x-sh', 'application/x-shellscript',
          'text/x-shellscript', 'text/x-python', 'text/x-perl', 'application/x-powershell',
          'text/x-msdos-batch', 'application/hta', 'application/x-ms-shortcut', 'application/x-msi')
   OR regexp_like(COALESCE(file_type, ''), '^(PE32|MS-DOS executable|ELF |Mach-O)|script')
   OR regexp_like(lower(COALESCE(filename, '')),
                  '\.(exe|dll|scr|sys|msi|ps1|psm1|bat|cmd|vbs|vbe|js|jse|wsf|hta|jar|apk|sh|py|pl|elf|so|dylib|lnk)$')
ORDER BY ts, file_id, sender, receiver
LIMIT 500
