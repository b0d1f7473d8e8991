"""The deployer: packages rendered templates, previews, executes and watches nested stacks.

Separate from the template builders: nothing here is imported by the generator, and boto3 is
only imported inside functions, so `generate.py templates` starts without loading it.
Every function takes its boto3 clients (or a session) as arguments, so the same code runs
against AWS and against a local endpoint.
"""
