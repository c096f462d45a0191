#!/usr/bin/env bash
# Stops the one-node Slurm cluster of tools/cluster/slurm-up.sh (its daemons and munged).
pkill -x slurmd 2>/dev/null || true
pkill -x slurmctld 2>/dev/null || true
pkill -x munged 2>/dev/null || true
echo "slurm: down"
