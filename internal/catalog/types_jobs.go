// SPDX-License-Identifier: Apache-2.0

package catalog

// jobTypes are the job and scheduled job events.
func jobTypes() []Type {
	sched := "[the scheduled job {target:scheduled_job}|a scheduled job]"
	return []Type{
		job("jobs.create", "Job started", TargetJob,
			"{actor} started [the job {target:job}|a job][ on {meta:flavor}]",
			str("flavor", "the hardware flavor"), str("image", "the container image")),
		job("jobs.cancel", "Job cancelled", TargetJob, "{actor} cancelled [the job {target:job}|a job]"),
		job("scheduled_job.create", "Scheduled job created", TargetScheduledJob,
			"{actor} created "+sched+"[ with the schedule {meta:schedule}]",
			str("schedule", "a cron expression or @hourly, @daily…"), str("flavor", "the hardware flavor"),
			str("image", "the container image")),
		job("scheduled_job.delete", "Scheduled job deleted", TargetScheduledJob, "{actor} deleted "+sched),
		job("scheduled_job.resume", "Scheduled job resumed", TargetScheduledJob, "{actor} resumed "+sched),
		job("scheduled_job.suspend", "Scheduled job suspended", TargetScheduledJob, "{actor} suspended "+sched),
		{
			Name: "scheduled_job.run", Category: CategoryJobs,
			Summary:  "Scheduled job run started",
			Targets:  []TargetRule{need(TargetScheduledJob), may(TargetJob)},
			Template: "{actor} ran " + sched + "[ as the job {target:job}]",
		},
	}
}

func job(name, summary, target, template string, metadata ...MetaRule) Type {
	return Type{
		Name: name, Category: CategoryJobs, Summary: summary, Template: template,
		Targets: []TargetRule{need(target)}, Metadata: metadata,
	}
}

// auditLogTypes are the events Trail records itself when someone reads or
// exports the audit log.
func auditLogTypes() []Type {
	c := CategoryAuditLog
	return []Type{
		{
			Name: "org.audit_log.export", Category: c, TrailOnly: true,
			Summary: "Audit log exported",
			Metadata: []MetaRule{
				str("format", "json, ndjson or csv"),
				str("filter", "the search string that selected the events, if any"),
				integer("size", "N, the log size when the export started: it covers seq 0 … N-1"),
			},
			Template: "{actor} exported the audit log[ as {meta:format}][ (filter: {meta:filter})]",
		},
		{
			Name: "org.audit_log.view", Category: c, TrailOnly: true,
			Summary:  "Audit log viewed",
			Metadata: []MetaRule{str("query", "the search shown, if any")},
			Template: "{actor} viewed the audit log[ (search: {meta:query})]",
		},
		{
			Name: "org.audit_log.policy_change", Category: c, TrailOnly: true,
			Summary: "Audit log retention policy changed",
			Metadata: []MetaRule{
				str("retention", "how long events are kept, counted from received_at (400d, 12h…), or forever"),
				boolean("legal_hold", "while on, nothing of the org is pruned"),
				str("legal_hold_reason", "why the hold is on"),
				str("old_retention", "the retention before the change"),
				boolean("old_legal_hold", "the legal hold before the change"),
			},
			Template: "{actor} changed the audit log retention policy[ to keep events {meta:retention}][, legal hold {meta:legal_hold}][ ({meta:legal_hold_reason})]",
		},
		{
			Name: "org.audit_log.prune", Category: c, TrailOnly: true,
			Summary: "Audit log events pruned by retention",
			Metadata: []MetaRule{
				integer("events", "how many events were removed"),
				integer("from_seq", "the first seq removed"),
				integer("to_seq", "the last seq removed"),
				str("retention", "the retention rule that removed them"),
				str("cutoff", "events received before this time were due"),
			},
			Template: "{actor} pruned {meta:events|some} audit log events[ (seq {meta:from_seq} … {meta:to_seq})][ under retention {meta:retention}]",
		},
		{
			Name: "org.audit_log.erasure", Category: c, TrailOnly: true,
			Summary: "A person erased from the audit log",
			Metadata: []MetaRule{
				str("erasure", "the erasure's id"),
				str("reason", "why, as the requester gave it"),
				integer("events", "how many events were rewritten"),
			},
			Template: "{actor} erased a person from {meta:events|some} audit log events[ (erasure {meta:erasure})][: {meta:reason}]",
		},
	}
}
