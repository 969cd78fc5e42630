"""Export a trained policy to one ONNX or TorchScript file with everything a robot needs inside.

The file holds the observation normaliser, the actor's mean (deterministic actions) and the map
from actions to PD position targets, so ``joint_targets = policy(obs)`` is the whole controller;
its metadata (robot, joint order, PD gains, torque limits, control and physics periods,
observation layout and options, termination rules, the recipe) is embedded as JSON (ONNX
``metadata_props`` / TorchScript extra file, key ``mimic_lit``). After writing, the file's actions
are checked against the torch policy on 1,000 observations (half from a rollout, half random) and
the largest difference is printed; a difference above --tolerance is an error.

examples:
  mimic-lit export --config recipes/deepmimic_g1_walk.yaml \\
      --ckpt_path runs/deepmimic_g1_walk/checkpoints/last.ckpt --format onnx --out g1_walk.onnx
  mimic-lit export --config recipes/deepmimic_g1_walk.yaml --ckpt_path last.ckpt --format torchscript
  mimic-lit sim2sim --policy g1_walk.onnx          # run it in plain MuJoCo
  mimic-lit export --config recipes/amp_k1_locomotion.yaml \
      --ckpt_path runs/amp_k1_locomotion/checkpoints/last.ckpt --format skill --out k1_walk_skill.ckpt

--format skill writes the policy alone (actor and observation normaliser, a few hundred KiB; no
critic, discriminator, optimiser or replay buffer) as a checkpoint a high-level recipe loads as its
low-level skill (task llc_ckpt_path), checked the same way against the full checkpoint.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options (imports nothing heavy, so ``--help`` is instant)."""
    parser.add_argument("--config", required=True, metavar="YAML",
                        help="recipe the policy was trained with (or the config.yaml its run saved)")
    parser.add_argument("--ckpt_path", "--ckpt-path", required=True, metavar="CKPT", help="checkpoint (e.g. last.ckpt)")
    parser.add_argument("--quick", action="store_true",
                        help="the recipe as `mimic-lit fit --quick` shrank it (a checkpoint of a quick run)")
    parser.add_argument("--format", choices=("onnx", "torchscript", "skill"), default="onnx",
                        help="file format (default: onnx); skill: a policy-only checkpoint for high-level recipes")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="output file (default: the checkpoint's name with .onnx, .pt or .skill.ckpt)")
    parser.add_argument("--check-samples", type=int, default=1000,
                        help="observations the file is checked on against the torch policy (default: 1000)")
    parser.add_argument("--tolerance", type=float, default=1e-5,
                        help="largest allowed |file action - torch action| (default: 1e-5)")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")


def run(args: argparse.Namespace) -> int:
    """Export, check, print a summary; returns 0 (1 if the check fails)."""
    from pathlib import Path

    from mimic_lit.errors import MimicLitError
    from mimic_lit.export import default_suffix, export_checkpoint
    from mimic_lit.fileio import check_output

    if args.check_samples < 2:
        raise MimicLitError(f"--check-samples must be >= 2, got {args.check_samples}")
    if args.format == "skill":
        return _export_skill(args)
    out = Path(args.out) if args.out else Path(args.ckpt_path).with_suffix(default_suffix(args.format))
    check_output(out, overwrite=args.overwrite)
    result = export_checkpoint(args.config, args.ckpt_path, args.format, out, args.check_samples, quick=args.quick)
    meta = result.metadata
    print(f"wrote {result.path} ({result.path.stat().st_size / 1024:.0f} KiB, {args.format})")
    print(f"  {meta['method']} policy for {meta['robot']}: {meta['obs_dim']} observations -> "
          f"{meta['action_dim']} joint targets every {meta['control_dt'] * 1000:.1f} ms")
    print(f"  observation blocks: {', '.join(b[0] for b in meta['obs_blocks'][:8])}"
          f"{' ...' if len(meta['obs_blocks']) > 8 else ''}")
    print(f"  check: max |file - torch| action difference {result.max_abs_diff:.2e} on {result.checked} observations")
    if result.max_abs_diff > args.tolerance:
        print(f"FAILED: the difference is above --tolerance {args.tolerance:g}")
        return 1
    return 0


def _export_skill(args: argparse.Namespace) -> int:
    """Write the policy-only checkpoint and check its actions against the full one."""
    from pathlib import Path

    import torch

    from mimic_lit.checkpoint import load_policy, write_policy_checkpoint
    from mimic_lit.fileio import check_output

    out = Path(args.out) if args.out else Path(args.ckpt_path).with_suffix(".skill.ckpt")
    check_output(out, overwrite=args.overwrite)
    full, _ = load_policy(args.config, args.ckpt_path, quick=args.quick)
    write_policy_checkpoint(args.ckpt_path, out, source={"recipe": Path(args.config).name})
    skill, _ = load_policy(args.config, out, what="skill file", quick=args.quick)
    obs = torch.randn(args.check_samples, full.obs_dim, generator=torch.Generator().manual_seed(0)) * 2.0
    diff = float((full.act(obs) - skill.act(obs)).abs().max())
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB, policy-only checkpoint)")
    print(f"  {full.obs_dim} observations -> {full.action_dim} actions; load it as a high-level recipe's task.llc_ckpt_path")
    print(f"  check: max |skill - checkpoint| action difference {diff:.2e} on {args.check_samples} observations")
    if diff > args.tolerance:
        print(f"FAILED: the difference is above --tolerance {args.tolerance:g}")
        return 1
    return 0
