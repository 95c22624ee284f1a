"""DynamoDB through PynamoDB: the models of the template's tables and the stores on them."""
