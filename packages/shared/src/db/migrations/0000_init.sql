CREATE TABLE `manifest_images` (
	`dataset` text NOT NULL,
	`path` text NOT NULL,
	`generator` text NOT NULL,
	`split` text NOT NULL,
	`label` text NOT NULL,
	`format` text NOT NULL,
	`width` integer NOT NULL,
	`height` integer NOT NULL,
	`bytes` integer NOT NULL,
	`jpeg_quality` integer,
	`sha256` text NOT NULL,
	`mtime_ms` integer NOT NULL,
	PRIMARY KEY(`dataset`, `path`)
);
--> statement-breakpoint
CREATE INDEX `manifest_images_subset_idx` ON `manifest_images` (`dataset`,`generator`,`split`,`label`);--> statement-breakpoint
CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`prefix` text NOT NULL,
	`secret_hash` text NOT NULL,
	`scopes` text NOT NULL,
	`rate_limit_per_minute` integer,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_secret_hash_unique` ON `api_keys` (`secret_hash`);--> statement-breakpoint
CREATE TABLE `detections` (
	`id` text PRIMARY KEY NOT NULL,
	`request_id` text NOT NULL,
	`image_sha256` text NOT NULL,
	`image_bytes` integer NOT NULL,
	`model_name` text NOT NULL,
	`model_version` text NOT NULL,
	`ai_generated` real NOT NULL,
	`verdict` text NOT NULL,
	`scores` text NOT NULL,
	`api_key_id` text,
	`runner` text,
	`latency_ms` real NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `detections_sha256_idx` ON `detections` (`image_sha256`);--> statement-breakpoint
CREATE INDEX `detections_created_idx` ON `detections` (`created_at`);--> statement-breakpoint
CREATE TABLE `models` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`version` text NOT NULL,
	`task` text NOT NULL,
	`architecture` text NOT NULL,
	`sha256` text NOT NULL,
	`card` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch() * 1000) NOT NULL
);
