import { MigrationInterface, QueryRunner } from 'typeorm';

export class RemoteChannelMemberships1795699562917 implements MigrationInterface {
  name = 'RemoteChannelMemberships1795699562917';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "remote_channel_memberships" ("user_id" integer NOT NULL, "channel_name" character varying(64) NOT NULL, "channel_host" character varying(255) NOT NULL, "joined_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_b469fba179a6b62f0b4d667be49" PRIMARY KEY ("user_id", "channel_name", "channel_host"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "remote_channel_memberships" ADD CONSTRAINT "FK_9248fd4d973e23450ae570f6cc1" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "remote_channel_memberships" DROP CONSTRAINT "FK_9248fd4d973e23450ae570f6cc1"`);
    await queryRunner.query(`DROP TABLE "remote_channel_memberships"`);
  }
}
