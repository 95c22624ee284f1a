"""The only code that touches AWS: DynamoDB (PynamoDB), S3, SQS and the delivery channels."""
