ALTER TABLE `detections` ADD `correlation_id` text;--> statement-breakpoint
ALTER TABLE `detections` ADD `threshold` real;--> statement-breakpoint
CREATE INDEX `detections_model_created_idx` ON `detections` (`model_name`,`created_at`);