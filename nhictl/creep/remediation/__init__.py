"""Least-privilege fixes per principal (``--remediate-out DIR``); never applied.

- ``plan``: what a fix keeps and whether a principal gets one at all (entry: ``propose_fix``);
- ``document``: the AWS IAM policy document of the kept set (the default remediation);
- ``resources``: which named resources an action may be narrowed to;
- ``split``: the document as managed policies within AWS's size quotas;
- ``files``: the fix files and ``index.json``.
"""
