CREATE TABLE `runners` (
	`name` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`models` text NOT NULL,
	`capabilities` text NOT NULL,
	`inflight` integer DEFAULT 0 NOT NULL,
	`ready` integer NOT NULL,
	`draining` integer DEFAULT false NOT NULL,
	`announced_at` integer NOT NULL,
	`heartbeat_at` integer NOT NULL
);
