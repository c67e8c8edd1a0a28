# The adaptive target (compress_distill.stages.adaptive): per teacher × student × regime, a pilot per compressor
# trained on a subset of its compressed target and judged on the validation set; the full runs train on the choice.
rule pilot_examples:
    input:
        examples=f"{R}/targets/{{teacher}}/{{regime}}/compressed-{{compressor}}.jsonl",
    output:
        examples=f"{R}/adaptive/{{teacher}}/{{regime}}/pilot/{{compressor}}.jsonl",
    log:
        f"{R}/logs/pilot_examples/{{teacher}}/{{regime}}/{{compressor}}.log",
    conda:
        "../envs/core.yaml"
    resources:
        **cpu_resources("target"),
    params:
        identity=identity("pilot_examples"),
        size=config["adaptive"]["pilot_examples"],
        seed=config["seed"],
    script:
        "../workflow_scripts/pilot_examples.py"


rule pilot_train:
    input:
        examples=rules.pilot_examples.output.examples,
        base=student_base,
    output:
        model=directory(f"{PILOT_DIR}/model"),
        metrics=f"{PILOT_DIR}/metrics.json",
        curve=f"{PILOT_DIR}/loss.csv",
    log:
        f"{PILOT_DIR}/train.log",
    benchmark:
        f"{PILOT_DIR}/train.benchmark.tsv"
    conda:
        "../envs/training.yaml"
    threads: STUDENT_RES["threads"]
    resources:
        **STUDENT_RES["resources"],
        **job_execution("train", "students", "student"),
    params:
        identity=identity("train"),
        student=settings("students", "student", "model", "lora"),
        settings=job_params("train", "students", "student"),
        seed=config["seed"],
    script:
        "../workflow_scripts/train.py"


rule pilot_evaluate:
    input:
        model=rules.pilot_train.output.model,
        metrics=rules.pilot_train.output.metrics,
        benchmark=rules.problems.output.validation,
    output:
        outputs=f"{PILOT_DIR}/validation.jsonl",
        summary=f"{PILOT_DIR}/validation.json",
    log:
        f"{PILOT_DIR}/validation.log",
    benchmark:
        f"{PILOT_DIR}/validation.benchmark.tsv"
    conda:
        engine_env("evaluation", None, "training")
    threads: EVAL_RES["threads"]
    resources:
        **EVAL_RES["resources"],
        **job_execution("evaluate", "evaluation"),
    params:
        identity=engine_identity(
            "evaluate", cd_settings.engine_of(config["evaluation"])
        ),
        settings=job_params("evaluate", "evaluation"),
        verifier=config["problems"]["pool"]["verifier"],
        seed=config["seed"],
    script:
        "../workflow_scripts/evaluate.py"


rule adaptive_target:
    input:
        pilots=pilot_summaries,
        targets=adaptive_candidate_targets,
    output:
        choice=f"{R}/adaptive/{{teacher}}/{{student}}/{{regime}}/choice.json",
        examples=f"{R}/adaptive/{{teacher}}/{{student}}/{{regime}}/target.jsonl",
    log:
        f"{R}/logs/adaptive_target/{{teacher}}/{{student}}/{{regime}}.log",
    conda:
        "../envs/core.yaml"
    resources:
        **cpu_resources("target"),
    params:
        identity=identity("adaptive_target"),
        compressors=COMPRESSORS,
        margin_points=config["adaptive"]["margin_points"],
    script:
        "../workflow_scripts/adaptive_target.py"
