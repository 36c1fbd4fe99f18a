CREATE TABLE `detect_job_items` (
	`job_id` text NOT NULL,
	`idx` integer NOT NULL,
	`state` text NOT NULL,
	`filename` text,
	`url` text,
	`sha256` text,
	`bytes` integer,
	`width` integer,
	`height` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`not_before` integer,
	`error_code` text,
	`error_message` text,
	`answers` text,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`job_id`, `idx`)
);
--> statement-breakpoint
CREATE INDEX `detect_job_items_state_idx` ON `detect_job_items` (`job_id`,`state`,`idx`);--> statement-breakpoint
CREATE TABLE `detect_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`api_key_id` text,
	`correlation_id` text,
	`spool_id` text NOT NULL,
	`state` text NOT NULL,
	`models` text NOT NULL,
	`callback_url` text,
	`total` integer NOT NULL,
	`scored` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`runner_ms` real DEFAULT 0 NOT NULL,
	`error_code` text,
	`error_message` text,
	`callback_enqueued` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`finished_at` integer
);
--> statement-breakpoint
CREATE INDEX `detect_jobs_spool_state_idx` ON `detect_jobs` (`spool_id`,`state`,`created_at`);--> statement-breakpoint
CREATE INDEX `detect_jobs_key_idx` ON `detect_jobs` (`api_key_id`,`created_at`);