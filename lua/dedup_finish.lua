-- dedup_finish: ends the unfinished occurrence that dedup started with an attempt id, atomically.
-- KEYS[1]  the fingerprint's hash (see dedup.lua)
-- ARGV[1]  the attempt id      ARGV[2]  'done' or 'abandon'
-- done: the occurrence was fully processed: 'p' and 'pt' are removed, the record is an ordinary
-- one and later deliveries are duplicates. abandon: processing failed: the lease ends now ('pt'
-- is removed), so the next delivery resumes the occurrence at once.
-- Both only delete fields: HDEL is allowed when Redis is over maxmemory (a script's first write
-- command is refused only when it may grow memory), so an alert refused by an OOM can still be
-- abandoned.
-- Nothing is written when the record is not unfinished by this attempt (already done, taken
-- over by another attempt after the lease, or expired).
-- Returns 1 when the record was changed, 0 otherwise.
if redis.call('HGET', KEYS[1], 'p') ~= ARGV[1] then return 0 end
if ARGV[2] == 'done' then
  redis.call('HDEL', KEYS[1], 'p', 'pt')
else
  redis.call('HDEL', KEYS[1], 'pt')
end
return 1
