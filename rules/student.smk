rule tokenizer:
    input:
        verified=expand(rules.verify.output.kept, teacher=TEACHERS, shard=SHARDS),
    output:
        folder=directory(f"{R}/students/tokenizer"),
    log:
        f"{R}/logs/tokenizer.log",
    conda:
        "../envs/training.yaml"
    resources:
        **cd_resources.placement(config["site"], gpu=False),
    params:
        identity=identity("tokenizer"),
        vocab_size=config["tokenizer"]["vocab_size"],
        arithmetic=config["problems"].get("arithmetic"),
    script:
        "../workflow_scripts/tokenizer.py"


rule pretrain:
    input:
        tokenizer=rules.tokenizer.output.folder,
    output:
        folder=directory(f"{R}/students/{{student}}/pretrained"),
    log:
        f"{R}/logs/pretrain/{{student}}.log",
    benchmark:
        f"{R}/benchmarks/pretrain/{{student}}.tsv"
    conda:
        "../envs/training.yaml"
    threads: STUDENT_RES["threads"]
    resources:
        **STUDENT_RES["resources"],
    params:
        identity=identity("pretrain"),
        student=settings("students", "student", "model", "pretrain"),
        arithmetic=config["problems"].get("arithmetic"),
        seed=config["seed"],
    script:
        "../workflow_scripts/pretrain.py"


rule train:
    input:
        examples=train_examples,
        base=student_base,
    output:
        model=directory(f"{RUN_DIR}/model"),
        metrics=f"{RUN_DIR}/metrics.json",
        curve=f"{RUN_DIR}/loss.csv",
    log:
        f"{RUN_DIR}/train.log",
    benchmark:
        f"{RUN_DIR}/train.benchmark.tsv"
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
    script:
        "../workflow_scripts/train.py"
