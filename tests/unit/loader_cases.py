"""Fixed loader cases: one tree per rule the boot model follows, with what each real loader does.

Used twice: tests/unit/plugins/module_utils/test__sysctl_conf_loaders.py checks the model's prediction
on each tree, and
tests/integration/test_loader_claims.py runs the real procps-ng 4.0.2 and systemd-sysctl 252 on the same
trees (in throw-away namespaces) and checks the same expected values. So every value below was seen from
the real loaders, and every statement docs/troubleshooting.md makes about loader behaviour names a case.

A tree maps host paths to file text, "->target" (a symlink) or "<dir>" (a directory). /etc/sysctl.conf
is an empty file unless given. Expected values are the boot values of (time, intvl, probes); None means
the loader leaves the key alone (the kernel default 7200/75/9 in a fresh namespace).
"""

from __future__ import annotations

T = "net.ipv4.tcp_keepalive_time"
I = "net.ipv4.tcp_keepalive_intvl"  # noqa: E741
P = "net.ipv4.tcp_keepalive_probes"
D = "/etc/sysctl.d"
U = "/usr/lib/sysctl.d"
R = "/run/sysctl.d"


def case(files, procps, systemd=None, issue=""):
    return {
        "files": files,
        "procps": procps,
        "systemd": procps if systemd is None else systemd,
        "issue": issue,
    }


CASES = {
    # --- issue 11 item 1: values the kernel rejects leave the earlier value in force --------------------
    "probes_above_u8_rejected": case(
        {f"{D}/10-a.conf": f"{P} = 5\n", f"{D}/20-b.conf": f"{P} = 300\n"},
        (None, None, 5),
        (None, None, None),
        "11.1",
    ),
    "time_above_int_max_over_hz_rejected": case(
        {f"{D}/10-a.conf": f"{T} = 600\n{I} = 8589934\n", f"{D}/20-b.conf": f"{T} = 8589935\n"},
        (600, 8589934, None),
        (None, 8589934, None),
        "11.1",
    ),
    "minus_zero_rejected_for_probes_only": case(
        {f"{D}/10-a.conf": f"{T} = -0\n{P} = 4\n{P} = -0\n"}, (0, None, 4), (0, None, None), "11.1"
    ),
    "negative_time_is_stored": case({f"{D}/10-a.conf": f"{T} = -5\n"}, (-5, None, None), issue="11.1"),
    "underscore_and_non_ascii_digits_rejected": case(
        {f"{D}/10-a.conf": f"{T} = 1_000\n{I} = \u0661\u0662\n{P} = 0x1f\n"}, (None, None, 31), issue="11.1"
    ),
    "octal_and_inline_comment": case(
        {f"{D}/10-a.conf": f"{T} = 0600\n{I} = 30 # half a minute\n{P} = 5#x\n"},
        (384, 30, None),
        issue="docs",
    ),
    # --- item 2: '-' lines ------------------------------------------------------------------------------
    "minus_key_after_assignment": case(
        {f"{D}/10-a.conf": f"{T} = 100\n", f"{D}/20-b.conf": f"-{T}\n"},
        (100, None, None),
        (None, None, None),
        "11.2",
    ),
    "minus_key_excludes_from_glob": case(
        {f"{D}/10-a.conf": f"-{P}\nnet.ipv4.tcp_keepalive_* = 5\n"}, (5, 5, None), issue="11.2"
    ),
    "minus_glob_excludes_nothing": case(
        {f"{D}/10-a.conf": "-net.ipv4.tcp_keepalive_pr*\nnet.ipv4.tcp_keepalive_* = 5\n"},
        (5, 5, 5),
        issue="11.2",
    ),
    "later_invalid_glob_keeps_earlier_glob": case(
        {
            f"{D}/10-a.conf": "net.ipv4.tcp_keepalive_* = 5\n",
            f"{D}/20-b.conf": "net.ipv4.tcp_keepalive_[ipt]* = 300\n",
        },
        (300, 300, 5),
        issue="11.2",
    ),
    "explicit_beats_glob_whatever_the_order": case(
        {f"{D}/10-a.conf": f"{T} = 100\n", f"{D}/90-z.conf": "net.ipv4.tcp_keepalive_* = 6\n"},
        (100, 6, 6),
        issue="docs",
    ),
    "ignore_errors_prefix": case(
        {f"{D}/10-a.conf": f"-{T} = 100\n-{I}=bad\n"}, (100, None, None), issue="docs"
    ),
    # --- item 3: line splitting -------------------------------------------------------------------------
    "form_feed_does_not_end_a_comment": case(
        {f"{D}/10-a.conf": f"# note\f{T} = 5\n# x\v{I} = 6\n# y\x1c{P} = 7\n"},
        (None, None, None),
        issue="11.3",
    ),
    "next_line_and_line_separator_do_not_split": case(
        {f"{D}/10-a.conf": f"{T} = 5\x85{I} = 6\n{I} = 7\u2028{P} = 8\n"}, (None, None, None), issue="11.3"
    ),
    "lone_cr_ends_a_line_for_systemd_only": case(
        {f"{D}/10-a.conf": f"{T} = 5\r{I} = 6\n"}, (None, None, None), (5, 6, None), "11.3"
    ),
    "crlf_line_endings": case({f"{D}/10-a.conf": f"{T} = 5\r\n{I} = 6\r\n"}, (5, 6, None), issue="11.3"),
    "nul_byte_ends_the_line": case(
        {f"{D}/10-a.conf": f"{T} = 5\0{I} = 6\n{P} = 7\0\n"}, (5, None, 7), (5, 6, 7), "11.3"
    ),
    # --- item 4: whitespace and key forms ---------------------------------------------------------------
    "form_feed_around_key_and_value": case(
        {f"{D}/10-a.conf": f"{T}\f= 5\n{I} =\f6\n{P} = 7\f\n"}, (5, 6, 7), (None, 6, None), "11.4"
    ),
    "nbsp_before_value": case({f"{D}/10-a.conf": f"{T} = \u00a0600\n"}, (None, None, None), issue="11.4"),
    "slash_and_leading_slash_keys": case(
        {
            f"{D}/10-a.conf": "net/ipv4/tcp_keepalive_time = 5\n/net/ipv4/tcp_keepalive_intvl = 6\n"
            "/net.ipv4.tcp_keepalive_probes = 7\n"
        },
        (5, 6, None),
        issue="11.4",
    ),
    "trailing_dot_key": case({f"{D}/10-a.conf": f"{T}. = 5\n"}, (None, None, None), (5, None, None), "11.4"),
    "dash_blank_key": case(
        {f"{D}/10-a.conf": f"- {T} = 600\n"}, (None, None, None), (600, None, None), "11.4"
    ),
    # --- item 5: files ----------------------------------------------------------------------------------
    "hidden_file_read_by_procps_only": case(
        {f"{D}/.x.conf": f"{T} = 5\n"}, (5, None, None), (None, None, None), "11.5"
    ),
    "dangling_symlink_masks": case(
        {f"{U}/50-a.conf": f"{T} = 5\n", f"{D}/50-a.conf": "->/nowhere/50-a.conf"},
        (None, None, None),
        issue="11.5",
    ),
    "directory_masks": case(
        {f"{U}/50-a.conf": f"{T} = 5\n", f"{D}/50-a.conf": "<dir>"}, (None, None, None), issue="11.5"
    ),
    "symlink_to_directory_masks": case(
        {f"{U}/50-a.conf": f"{T} = 5\n", f"{D}/sub": "<dir>", f"{D}/50-a.conf": "->sub"},
        (None, None, None),
        issue="11.5",
    ),
    "dev_null_masks": case(
        {f"{U}/50-a.conf": f"{T} = 5\n", f"{D}/50-a.conf": "->/dev/null"}, (None, None, None), issue="docs"
    ),
    "empty_file_masks": case(
        {f"{U}/50-a.conf": f"{T} = 5\n", f"{D}/50-a.conf": ""}, (None, None, None), issue="docs"
    ),
    "vertical_tab_around_key_and_value": case(
        {f"{D}/10-a.conf": f"{T}\v= 5\n{P} = 7\v\n"}, (5, None, 7), (None, None, None), "11.4"
    ),
    "etc_beats_run_beats_vendor_same_name": case(
        {
            f"{U}/50-a.conf": f"{T} = 1\n{I} = 1\n",
            f"{R}/50-a.conf": f"{T} = 2\n{I} = 2\n",
            f"{D}/50-a.conf": f"{T} = 3\n",
        },
        (3, None, None),
        issue="docs",
    ),
    "basename_order_across_directories": case(
        {f"{D}/10-a.conf": f"{T} = 1\n", f"{U}/90-z.conf": f"{T} = 9\n"}, (9, None, None), issue="docs"
    ),
    "sysctl_conf_last_for_procps_only": case(
        {"/etc/sysctl.conf": f"{T} = 1\n", f"{U}/99-z.conf": f"{T} = 9\n"},
        (1, None, None),
        (9, None, None),
        "docs",
    ),
    "sysctl_conf_through_99_symlink": case(
        {
            "/etc/sysctl.conf": f"{T} = 1\n",
            f"{D}/99-sysctl.conf": "->../sysctl.conf",
            f"{D}/99-zzz.conf": f"{T} = 9\n",
        },
        (1, None, None),
        (9, None, None),
        "docs",
    ),
    "same_glob_in_two_forms_is_one_systemd_entry": case(
        {
            f"{D}/10-a.conf": "net.ipv4.tcp_keepalive_* = 5\n",
            f"{D}/20-b.conf": "net/ipv4/tcp_keepalive_* = 300\n",
        },
        (300, 300, 5),
        (300, 300, None),
        "11.2",
    ),
    # --- item 7 lives in test_sysctl_conf_loaders.py (a finding, not a value) ----------------------------
}
