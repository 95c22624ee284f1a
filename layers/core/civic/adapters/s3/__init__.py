"""S3: presigned uploads, the routing index and the open-data files."""
