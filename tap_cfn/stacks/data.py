"""Data stack: per service an ECR repository and a log group; the platform's secrets, whose
values CloudFormation generates (no secret value appears in any template)."""

from __future__ import annotations

import json

from troposphere import GetAtt, Ref, Template, ecr, kms, logs, secretsmanager

from tap_cfn import naming
from tap_cfn.config import Deployment
from tap_cfn.contract import KMS_KEY_ARN, LOG_GROUP_NAME, REPOSITORY_ARN, REPOSITORY_URI, SECRET_ARN
from tap_cfn.iam import key_policy
from tap_cfn.naming import logical_id
from tap_cfn.stacks.base import StackBuilder
from tap_cfn.topology import Part

KEEP_IMAGES = 10
# Characters that break connection strings and shell quoting.
SECRET_EXCLUDED_CHARACTERS = "\"'@/\\`"

LIFECYCLE_POLICY = json.dumps(
    {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Keep the last {KEEP_IMAGES} images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": KEEP_IMAGES,
                },
                "action": {"type": "expire"},
            }
        ]
    },
    sort_keys=True,
)


def build(dep: Deployment, part: Part | None = None) -> Template:
    part = part or Part.whole(dep)
    s = StackBuilder(dep, "ECR repositories, log groups, generated secrets and the deployment's KMS key")
    if part.shared:
        key = s.stateful(
            kms.Key(
                "Key",
                Description=s.sub(f"{naming.name_text(dep.project, 'key')}: encrypts the alarm topic"),
                EnableKeyRotation=True,
                KeyPolicy=key_policy(),
                Tags=s.tags("key"),
            )
        )
        s.output(KMS_KEY_ARN, GetAtt(key, "Arn"))
    for svc in part.members(dep):
        owner = logical_id(svc.name)
        repository = s.stateful(
            ecr.Repository(
                f"{owner}Repository",
                RepositoryName=s.name("repo", svc.name),
                ImageTagMutability="IMMUTABLE",
                ImageScanningConfiguration=ecr.ImageScanningConfiguration(ScanOnPush=True),
                LifecyclePolicy=ecr.LifecyclePolicy(LifecyclePolicyText=LIFECYCLE_POLICY),
                Tags=s.tags("repo", svc.name),
            )
        )
        log_group = s.stateful(
            logs.LogGroup(
                f"{owner}LogGroup",
                LogGroupName=s.sub(naming.log_group_text(dep, svc.name)),
                RetentionInDays=dep.env.log_retention_days,
                Tags=s.tags("logs", svc.name),
            )
        )
        s.output(REPOSITORY_URI, GetAtt(repository, "RepositoryUri"), svc.name)
        s.output(REPOSITORY_ARN, GetAtt(repository, "Arn"), svc.name)
        s.output(LOG_GROUP_NAME, Ref(log_group), svc.name)

    for secret in dep.config.secrets if part.shared else []:
        generate = secretsmanager.GenerateSecretString(
            PasswordLength=secret.length,
            ExcludeCharacters=SECRET_EXCLUDED_CHARACTERS,
        )
        if secret.template is not None:
            generate.SecretStringTemplate = secret.template
            generate.GenerateStringKey = secret.generate_key
        resource = s.stateful(
            secretsmanager.Secret(
                f"{logical_id(secret.name)}Secret",
                Name=s.name("secret", secret.name),
                Description=secret.description or f"{secret.name} (generated)",
                GenerateSecretString=generate,
                Tags=s.tags("secret", secret.name),
            )
        )
        s.output(SECRET_ARN, Ref(resource), secret.name)
    return s.template
