"""Outbound: what openprofiles sends to other services (the domains' SQS dead-letter queues
today; Kinesis, S3 and EventBridge destinations as they land). ``aws`` makes the boto3 clients,
one module per service sends with them. The engine never imports this package: the App hands it
a sender function."""
