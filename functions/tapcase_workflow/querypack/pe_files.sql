-- name: pe_files
-- title: Windows executables (PE) transferred
-- description: Windows PE files Zeek saw in transfers, with their header facts (machine, compile
--   time, executable or DLL, 64-bit, ASLR/DEP/signature present) and, from files.log, who sent
--   them to whom, the file name and hashes to look up. Zeek pe.log with files.log.
-- tables: zeek_pe, zeek_files
SELECT p.ts,
       f.id_orig_h AS sender_side,
       f.id_resp_h AS receiver_side,
       f.source AS protocol,
       f.filename,
       p.machine,
       p.compile_ts,
       p.is_exe,
       p.is_64bit,
       p.uses_aslr,
       p.uses_dep,
       p.has_cert_table AS signed,
       f.md5,
       f.sha1,
       f.sha256,
       p.id AS file_id
FROM {{database}}.zeek_pe p
LEFT JOIN {{database}}.zeek_files f
  ON f.investigation_id = '{{investigation_id}}' AND f.fuid = p.id
WHERE p.investigation_id = '{{investigation_id}}'
ORDER BY p.ts, p.id
LIMIT 500
