"""tap-cfn: a typed ECS Fargate platform description rendered as nested CloudFormation."""
