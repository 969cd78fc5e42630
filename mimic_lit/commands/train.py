"""The Lightning side of ``mimic-lit``: ``fit``, ``validate``, ``test`` and ``predict``.

:class:`MimicLitCLI` is a ``LightningCLI`` in subclass mode for both the model and the datamodule, so
a recipe (or the command line) names the classes it wants::

    model:
      class_path: mimic_lit.methods.deepmimic.DeepMimic   # any LightningModule
      init_args: {...}
    data:
      class_path: mimic_lit.datamodule.ImitationDataModule       # any LightningDataModule
      init_args:
        task:
          class_path: mimic_lit.envs.tracking.TrackingConfig     # any mimic_lit.envs.task.EnvTask
          init_args: {...}

and ``mimic-lit fit --config recipes/<name>.yaml`` runs it. This module imports lightning (and so
torch): ``mimic_lit.cli`` imports it only when one of these four subcommands is asked for.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch import LightningDataModule, LightningModule
from lightning.pytorch.cli import LightningCLI


class MimicLitCLI(LightningCLI):
    """``LightningCLI`` with mimic-lit's defaults: any ``LightningModule`` / ``LightningDataModule``
    chosen by class path, ``--config`` files, and the run's resolved config saved next to its logs
    (overwriting the copy a resumed run left there)."""

    def __init__(self, args: list[str] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("subclass_mode_model", True)
        kwargs.setdefault("subclass_mode_data", True)
        kwargs.setdefault("save_config_kwargs", {"overwrite": True})
        kwargs.setdefault("parser_kwargs", {"prog": "mimic-lit"})
        from mimic_lit.cli_parser import MimicLitArgumentParser

        kwargs.setdefault("parser_class", MimicLitArgumentParser)  # one line for a rejected config
        from mimic_lit.quiet import quiet_training_noise

        quiet_training_noise()
        # Imported so that short class names resolve everywhere, --model.help DeepMimic included.
        import mimic_lit.datamodule  # noqa: F401
        import mimic_lit.methods  # noqa: F401

        super().__init__(LightningModule, LightningDataModule, args=args, **kwargs)

    def add_arguments_to_parser(self, parser: Any) -> None:
        """``--quick`` (:mod:`mimic_lit.quick`) in every subcommand's ``--help``; :meth:`parse_arguments` applies it."""
        from mimic_lit.quick import QuickAction

        parser.add_argument("--quick", action=QuickAction)

    def _prepare_subcommand_parser(self, klass: type, subcommand: str, **kwargs: Any):
        """Add the evaluation commands' own options (``--out``, ``--overwrite``) to their parsers only."""
        parser = super()._prepare_subcommand_parser(klass, subcommand, **kwargs)
        helps = {
            "predict": "also write the per-episode results to this .json or .csv file",
            "validate": "also write the summary (rates, means, 95 % intervals) to this .json file",
            "test": "also write the summary (rates, means, 95 % intervals) to this .json file",
        }
        if subcommand in helps:
            from jsonargparse import ActionYesNo

            parser.add_argument("--out", type=str | None, default=None, help=helps[subcommand])
            parser.add_argument("--overwrite", action=ActionYesNo, default=False, help="replace --out if it exists")
        return parser

    def parse_arguments(self, parser: Any, args: Any) -> None:
        """``--quick`` (:mod:`mimic_lit.quick`): the arguments before it are parsed first, and the quick
        values for that config go in where it stood, as a config text (options after it still win)."""
        import sys

        from mimic_lit.quick import last_config_stem, quick_config, split_quick

        argv = sys.argv[1:] if args is None else args
        split = split_quick(argv) if isinstance(argv, list) else None
        if split is None:
            return super().parse_arguments(parser, args)
        before, after = split
        first = parser.parse_args([a for a in before if not a.startswith("--print_config")])
        subcommand = first.get("subcommand")  # None when built with run=False: no subcommands
        text = quick_config(first[subcommand] if subcommand else first, last_config_stem(before))
        quick_args = [*before, "--config", text, *after]
        if args is not None:
            return super().parse_arguments(parser, quick_args)
        saved = sys.argv
        sys.argv = [saved[0], *quick_args]
        try:
            super().parse_arguments(parser, None)
        finally:
            sys.argv = saved

    def before_predict(self) -> None:
        """Check ``--out`` before anything runs; print (and write) the per-episode table at the end."""
        from mimic_lit.predictions import PredictionResults

        config = self.config[self.subcommand]
        self.trainer.callbacks.append(PredictionResults(config.get("out"), bool(config.get("overwrite"))))

    def before_validate(self) -> None:
        """Check ``--out`` before the episodes run."""
        self._check_summary_out()

    def before_test(self) -> None:
        """Check ``--out`` before the episodes run."""
        self._check_summary_out()

    def after_validate(self) -> None:
        """Print the summary with its 95 % intervals (and write ``--out``)."""
        self._report_summary("val/")

    def after_test(self) -> None:
        """Print the summary with its 95 % intervals (and write ``--out``)."""
        self._report_summary("test/")

    def _check_summary_out(self) -> None:
        from mimic_lit.metrics.report import check_summary_path

        config = self.config[self.subcommand]
        if config.get("out"):
            check_summary_path(config["out"], overwrite=bool(config.get("overwrite")))

    def _report_summary(self, prefix: str) -> None:
        """:func:`mimic_lit.metrics.summary` of what the run logged under ``prefix``, on global rank 0."""
        from mimic_lit.metrics.report import check_summary_path, format_summary, summary, write_summary

        if not self.trainer.is_global_zero:
            return
        result = summary(self.trainer.callback_metrics, prefix)
        if "episodes" not in result:
            print(f"{self.subcommand}: no evaluation episodes were played")
            return
        print(format_summary(result, self.subcommand))
        config = self.config[self.subcommand]
        if config.get("out"):
            overwrite = bool(config.get("overwrite"))
            write_summary(check_summary_path(config["out"], overwrite=overwrite), result)
            print(f"wrote {config['out']}")

    def instantiate_trainer(self, **kwargs: Any):
        """A ``fit`` without a ``RunCheckpoint`` in its callbacks gets one (``mimic_lit.runs``)."""
        if self.subcommand == "fit":
            from mimic_lit.runs import add_run_checkpoint

            add_run_checkpoint(self.config_init[self.subcommand]["trainer"])
        return super().instantiate_trainer(**kwargs)

    def before_fit(self) -> None:
        """The run's checkpointing (``mimic_lit.runs``): ``--ckpt_path last`` resolved, and a
        refusal to overwrite another run's ``last.ckpt``."""
        from mimic_lit.runs import prepare_fit

        config = self.config_init[self.subcommand]
        config["ckpt_path"] = prepare_fit(self.trainer, config.get("ckpt_path"))

    def after_fit(self) -> None:
        """Exit with 130 when Ctrl-C stopped the run (after its checkpoint was saved)."""
        from mimic_lit.runs import exit_code_after_fit

        code = exit_code_after_fit(self.trainer)
        if code:
            raise SystemExit(code)

    def _run_subcommand(self, subcommand: str) -> None:
        """Run the subcommand; if it fails before any batch completed, remove the run folders it
        created and left empty (``mimic_lit.failed_runs``)."""
        from mimic_lit.failed_runs import FailedRunCleanup

        cleanup = FailedRunCleanup(self.trainer)
        self.trainer.callbacks.append(cleanup)
        try:
            super()._run_subcommand(subcommand)
        except BaseException:
            cleanup.clean(self.trainer)
            raise

    def _prepare_subcommand_kwargs(self, subcommand: str) -> dict[str, Any]:
        """Checkpoints hold tensors and plain values only: Lightning loads ``--ckpt_path`` with
        ``weights_only=True``, after :func:`~mimic_lit.checkpoint_io.check_ckpt_path` has read it the
        same way (one line for a damaged or unsafe file). Runs after ``before_<subcommand>``, so
        ``--ckpt_path last`` is already a file."""
        from mimic_lit.errors import MimicLitError

        kwargs = super()._prepare_subcommand_kwargs(subcommand)
        if kwargs.get("weights_only") is False:
            raise MimicLitError("--weights_only false is not supported: mimic-lit only loads checkpoints "
                                "that hold tensors and plain values (--weights_only)")
        if "weights_only" in self._subcommand_method_arguments.get(subcommand, ()):
            kwargs["weights_only"] = True
        self._check_ckpt_path(kwargs.get("ckpt_path"))
        return kwargs

    def _parse_ckpt_path(self) -> None:
        """LightningCLI reads the hyper-parameters of ``--ckpt_path`` right after parsing: check the
        file first, so a damaged or unsafe one gives one line here already."""
        if self.config.get("subcommand"):
            self._check_ckpt_path(self.config[self.config.subcommand].get("ckpt_path"))
        super()._parse_ckpt_path()

    def _check_ckpt_path(self, ckpt_path: Any) -> None:
        """:func:`~mimic_lit.checkpoint_io.check_ckpt_path`, once per file."""
        from mimic_lit.checkpoint_io import check_ckpt_path

        checked = self.__dict__.setdefault("_checked_ckpt_paths", set())
        if ckpt_path is not None and str(ckpt_path) not in checked:
            check_ckpt_path(ckpt_path)
            checked.add(str(ckpt_path))


def run_lightning(argv: list[str]) -> int:
    """Run ``mimic-lit <fit|validate|test|predict> ...``; returns the exit code."""
    import sys

    # LightningCLI warns when it is given args while the process has others (a notebook kernel's,
    # a test runner's): it then reads ``argv`` as the process's own arguments, restored after.
    saved = sys.argv
    sys.argv = [saved[0] if saved else "mimic-lit", *argv]
    try:
        MimicLitCLI(args=None)
    finally:
        sys.argv = saved
    return 0
