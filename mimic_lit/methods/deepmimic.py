"""`DeepMimic`: motion tracking (the tracking env's DeepMimic reward) learned with PPO or AWR.

The task is the data module's (``ImitationDataModule`` with a ``TrackingConfig`` task); this module
is the learner. Defaults follow MimicKit's DeepMimic agent (γ 0.99, λ 0.95, fixed action std 0.05,
PPO clip 0.2, advantage clip 4, action-bound weight 10, AWR temperature 1 and weight cap 20). The
recipes deviate where a CPU run showed it: Adam instead of SGD (G1 walk, 1.2 M samples: reward
0.51 vs 0.48, mean body position error 10.7 vs 13.9 cm, episodes 1.08 vs 0.84 s), 256-256
networks instead of 1024-1024 and 3 update passes per rollout, so that the update keeps pace
with the simulator on a 2-core machine (``docs/benchmarks.md``, training throughput).
"""

from __future__ import annotations

from mimic_lit.envs.spec import RolloutSpec
from mimic_lit.errors import MimicLitError
from mimic_lit.methods.base import RLModule

__all__ = ["DeepMimic"]


class DeepMimic(RLModule):
    """DeepMimic imitation learner: actor-critic on the tracking env (see :class:`RLModule` for args)."""

    def connect(self, spec: RolloutSpec) -> None:
        """Refuse envs whose reward is not the tracking reward (AMP, ADD and ASE envs leave it to
        their discriminator): DeepMimic would learn nothing but a goal there."""
        if not spec.env.tracks_reference or spec.env.disc_obs is not None:
            raise MimicLitError(
                "DeepMimic needs the tracking env, whose reward is the tracking reward "
                "(data.init_args.task.class_path: mimic_lit.envs.tracking.TrackingConfig)"
            )
        super().connect(spec)

