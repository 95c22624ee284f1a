"""Storage adapters. Only this package imports PynamoDB or boto3; the domain receives its stores."""
