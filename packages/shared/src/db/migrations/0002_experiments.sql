CREATE TABLE `experiments` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text,
	`protocol` text NOT NULL,
	`spec` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`cancelled_at` integer
);
--> statement-breakpoint
CREATE INDEX `experiments_created_idx` ON `experiments` (`created_at`);--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`experiment_id` text NOT NULL,
	`run_index` integer NOT NULL,
	`model` text NOT NULL,
	`train_on` text NOT NULL,
	`test_on` text NOT NULL,
	`degradations` text NOT NULL,
	`seed` integer NOT NULL,
	`state` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`max_attempts` integer NOT NULL,
	`available_at` integer NOT NULL,
	`lease_owner` text,
	`lease_expires_at` integer,
	`heartbeat_at` integer,
	`progress` text,
	`history` text,
	`failure_reason` text,
	`artifact_dir` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	FOREIGN KEY (`experiment_id`) REFERENCES `experiments`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `jobs_claim_idx` ON `jobs` (`state`,`available_at`);--> statement-breakpoint
CREATE INDEX `jobs_experiment_idx` ON `jobs` (`experiment_id`,`run_index`);--> statement-breakpoint
CREATE TABLE `metrics` (
	`job_id` text NOT NULL,
	`experiment_id` text NOT NULL,
	`test_set` text NOT NULL,
	`degradation` text NOT NULL,
	`accuracy` real NOT NULL,
	`real_accuracy` real,
	`fake_accuracy` real,
	`average_precision` real,
	`roc_auc` real,
	`count` integer NOT NULL,
	`real_count` integer NOT NULL,
	`fake_count` integer NOT NULL,
	`accuracy_ci_low` real,
	`accuracy_ci_high` real,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`job_id`) REFERENCES `jobs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `metrics_cell_idx` ON `metrics` (`job_id`,`test_set`,`degradation`);--> statement-breakpoint
CREATE INDEX `metrics_experiment_idx` ON `metrics` (`experiment_id`);