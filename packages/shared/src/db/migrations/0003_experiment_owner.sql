ALTER TABLE `experiments` ADD `owner_key_id` text;--> statement-breakpoint
CREATE INDEX `experiments_owner_idx` ON `experiments` (`owner_key_id`,`created_at`);