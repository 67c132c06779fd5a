"""Storage: one DynamoDB table behind one repository; see docs/storage.md for every access pattern."""
