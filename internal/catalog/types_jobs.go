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
	}
}
