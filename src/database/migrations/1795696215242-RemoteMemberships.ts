import { MigrationInterface, QueryRunner } from 'typeorm';

export class RemoteMemberships1795696215242 implements MigrationInterface {
  name = 'RemoteMemberships1795696215242';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "remote_memberships" ("channel_id" integer NOT NULL, "user_name" character varying(32) NOT NULL, "user_host" character varying(255) NOT NULL, "joined_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_89442b96b545f6af35e7f805131" PRIMARY KEY ("channel_id", "user_name", "user_host"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "remote_memberships" ADD CONSTRAINT "FK_c4182a0ad6fd010b1ec5dbfeb2a" FOREIGN KEY ("channel_id") REFERENCES "channels"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "remote_memberships" DROP CONSTRAINT "FK_c4182a0ad6fd010b1ec5dbfeb2a"`);
    await queryRunner.query(`DROP TABLE "remote_memberships"`);
  }
}
