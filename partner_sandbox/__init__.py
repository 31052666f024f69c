"""A partner simulated on this machine, for the demo, the benchmarks and the tests (not shipped in the wheel).

- :mod:`partner_sandbox.sshd`: a real OpenSSH ``sshd`` on 127.0.0.1 with its own host key and authorized keys;
- :mod:`partner_sandbox.inprocess_server`: an asyncssh SFTP server in this process, where sshd cannot serve;
- :mod:`partner_sandbox.gpg`: the partner's keyring, played with the ``gpg`` command line in its own home;
- :mod:`partner_sandbox.dag_files` and :mod:`partner_sandbox.rss_child`: DAG files using the provider's
  operators, and a child process that runs one and reports its memory use.

Nothing here imports ``tests``: the tests build on this package, not the other way round.
"""
