CREATE TABLE `callback_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`job_id` text NOT NULL,
	`api_key_id` text,
	`url` text NOT NULL,
	`body` text NOT NULL,
	`state` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`last_status` integer,
	`last_error` text,
	`created_at` integer NOT NULL,
	`delivered_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `callback_deliveries_job_idx` ON `callback_deliveries` (`job_id`);--> statement-breakpoint
CREATE INDEX `callback_deliveries_due_idx` ON `callback_deliveries` (`state`,`next_attempt_at`);--> statement-breakpoint
ALTER TABLE `api_keys` ADD `callback_secret` text;